"""The domain core behind `/recommend`: pick a version, find the customer's candidates, apply
the ranking rules. Routes only translate HTTP to these calls."""

from __future__ import annotations

from datetime import UTC, datetime

from models.catalog import Catalog
from models.ranking import select_offers
from service.schemas import Recommendation, RecommendedItem
from service.store import OfferStore, StoreUnavailableError


async def recommend(store: OfferStore, customer_id: str, k: int, include_purchased: bool) -> Recommendation:
    version = await store.active_version()
    if version is None:
        raise StoreUnavailableError("no model version has been published yet")
    offers = await store.customer_offers(version, customer_id)
    source = "personal"
    if offers is None:
        offers, source = await store.popular_offers(version), "popular"
    catalog = await store.catalog(version)
    today = datetime.now(UTC).date()
    chosen = select_offers(offers, k, include_purchased, lambda i: _offerable(catalog, i, today))
    return Recommendation(
        customer_id=customer_id,
        model_version=version,
        source=source,  # type: ignore[arg-type]
        items=[RecommendedItem(item_id=o.item_id, title=_title(catalog, o.item_id), score=o.score) for o in chosen],
    )


def _offerable(catalog: Catalog, item_id: str, today) -> bool:  # type: ignore[no-untyped-def]
    entry = catalog.get(item_id)
    return entry is not None and entry.offerable(today)


def _title(catalog: Catalog, item_id: str) -> str:
    entry = catalog.get(item_id)
    return entry.title if entry else item_id
