"""The domain core behind `/recommend`: pick a version, find the customer's candidates, apply
what the customer did since training (live overlays) and the ranking rules. Routes only
translate HTTP to these calls."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection

from models.contract import Offer
from models.ranking import select_offers
from models.wording import every
from service import personal_store
from service.filters import ItemFilter
from service.live.overlays import LiveContext, apply_live
from service.live.state import LiveSnapshot
from service.schemas import BatchRecommendation, BatchRecommendRequest, Recommendation, RecommendedItem
from service.store import OfferStore, StoreUnavailableError

log = logging.getLogger(__name__)

REASON_LIKE_YOU = "bought by customers like you"
REASON_BEST_SELLER = "a best-seller"
REASON_BOUGHT_BEFORE = "you bought this before"


async def active_version(store: OfferStore) -> str:
    version = await store.active_version()
    if version is None:
        raise StoreUnavailableError("no model version has been published yet")
    return version


async def recommend(
    store: OfferStore,
    customer_id: str,
    k: int,
    include_purchased: bool,
    exclude: Collection[str] = (),
    category: str | None = None,
    live: LiveContext | None = None,
) -> Recommendation:
    version = await active_version(store)
    return await recommend_in(store, version, customer_id, k, include_purchased, exclude, category, live)


async def recommend_in(
    store: OfferStore,
    version: str,
    customer_id: str,
    k: int,
    include_purchased: bool,
    exclude: Collection[str] = (),
    category: str | None = None,
    live: LiveContext | None = None,
) -> Recommendation:
    """One customer's answer from `version`. With `live`, what the customer did since training
    changes the answer (see `service.live.overlays`); its state is read alongside the offers.
    Items dropped by the catalog rules, `exclude` or `category` are refilled from the next
    candidates, so `k` holds while candidates last."""
    now_ms = live.now_ms() if live else 0
    offers, (snapshot, degraded) = await asyncio.gather(
        store.customer_offers(version, customer_id), _snapshot(live, customer_id, now_ms)
    )
    source = "personal"
    if offers is None:
        offers, source = await store.popular_offers(version), "popular"
    if live is not None:
        offers, source = apply_live(offers, source, snapshot, live, customer_id, now_ms)
    rules = ItemFilter.of(await store.catalog(version), exclude, category)
    chosen = select_offers(offers, k, include_purchased, rules.allows)
    rhythm = await _rhythms(store, version, customer_id) if any(o.bought for o in chosen) else {}
    return Recommendation(
        customer_id=customer_id,
        model_version=version,
        source=source,  # type: ignore[arg-type]
        degraded=degraded,
        items=[
            RecommendedItem(item_id=o.item_id, title=rules.title(o.item_id), price=rules.price(o.item_id),
                            score=o.score, reason=_reason(o, source, rhythm))
            for o in chosen
        ],
    )


async def recommend_batch(
    store: OfferStore, request: BatchRecommendRequest, live: LiveContext | None = None
) -> BatchRecommendation:
    """Every customer of the batch answered from the same version, concurrently."""
    version = await active_version(store)
    results = await asyncio.gather(*(
        recommend_in(store, version, cid, request.k, request.include_purchased, request.exclude, request.category,
                     live)
        for cid in request.customer_ids
    ))
    return BatchRecommendation(model_version=version, results=list(results))


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


async def _rhythms(store: OfferStore, version: str, customer_id: str) -> dict[str, float]:
    """Item -> the customer's usual days between purchases (only fetched when a bought item is shown)."""
    ingredients = await personal_store.ingredients(store, version, customer_id)
    return {b.item_id: b.interval_days for b in ingredients.buy_again} if ingredients else {}


def _reason(offer: Offer, source: str, rhythm: dict[str, float]) -> str:
    if source == "popular":
        return REASON_BEST_SELLER
    if not offer.bought:
        return REASON_LIKE_YOU
    interval = rhythm.get(offer.item_id)
    return f"you buy this {every(interval)}" if interval else REASON_BOUGHT_BEFORE
