"""The domain core behind `/recommend`: pick a version, find the customer's candidates, apply
the ranking rules. Routes only translate HTTP to these calls."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from models.catalog import Catalog
from models.ranking import select_offers
from service.live.overlays import LiveContext, apply_live
from service.live.state import LiveSnapshot
from service.schemas import Recommendation, RecommendedItem
from service.store import OfferStore, StoreUnavailableError

log = logging.getLogger(__name__)


async def recommend(
    store: OfferStore, customer_id: str, k: int, include_purchased: bool, live: LiveContext | None = None
) -> Recommendation:
    """With `live`, what the customer did since training changes the answer (see
    `service.live.overlays`); its state is read alongside the offers, in the same round trip."""
    version = await store.active_version()
    if version is None:
        raise StoreUnavailableError("no model version has been published yet")
    now_ms = live.now_ms() if live else 0
    offers, (snapshot, degraded) = await asyncio.gather(
        store.customer_offers(version, customer_id), _snapshot(live, customer_id, now_ms)
    )
    source = "personal"
    if offers is None:
        offers, source = await store.popular_offers(version), "popular"
    if live is not None:
        offers, source = apply_live(offers, source, snapshot, live, customer_id, now_ms)
    catalog = await store.catalog(version)
    today = datetime.now(UTC).date()
    chosen = select_offers(offers, k, include_purchased, lambda i: _offerable(catalog, i, today))
    return Recommendation(
        customer_id=customer_id,
        model_version=version,
        source=source,  # type: ignore[arg-type]
        degraded=degraded,
        items=[RecommendedItem(item_id=o.item_id, title=_title(catalog, o.item_id), score=o.score) for o in chosen],
    )


async def _snapshot(live: LiveContext | None, customer_id: str, now_ms: int) -> tuple[LiveSnapshot, bool]:
    """The customer's live state; if it cannot be read, the precomputed answer still goes out,
    marked degraded."""
    if live is None:
        return LiveSnapshot(), False
    try:
        return await live.state.snapshot(customer_id, now_ms), False
    except StoreUnavailableError as exc:
        log.warning("live state unavailable, answering without it: %s", exc)
        return LiveSnapshot(), True


def _offerable(catalog: Catalog, item_id: str, today) -> bool:  # type: ignore[no-untyped-def]
    entry = catalog.get(item_id)
    return entry is not None and entry.offerable(today)


def _title(catalog: Catalog, item_id: str) -> str:
    entry = catalog.get(item_id)
    return entry.title if entry else item_id
