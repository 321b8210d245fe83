"""The domain core behind `/recommend`: pick a version, find the customer's candidates, apply
what the customer did since training (live overlays) and the ranking rules. Routes only
translate HTTP to these calls."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from models.contract import Offer
from models.rules.business import NO_RULES, ListRules
from models.rules.catalog import Catalog
from models.rules.ranking import ScoreScale, scale_of, select_offers
from models.rules.wording import FEATURED_REASON
from service.core import experiments, personal_store
from service.core.experiments import NO_EXPERIMENT, Assignment
from service.core.filters import ItemFilter
from service.http.schemas import BatchRecommendation, BatchRecommendRequest, Recommendation
from service.live.overlays import LiveContext, LiveEffect, bought_by, live_effect
from service.live.state import LiveSnapshot
from service.storage.stores import OfferStore, StoreUnavailableError

log = logging.getLogger(__name__)

REASON_LIKE_YOU = "bought by customers like you"
REASON_BEST_SELLER = "a best-seller"
REASON_BOUGHT_BEFORE = "you bought this before"
SECTION = "recommend"  # where `GET /recommend` answers are shown, as their impressions record it
BATCH_SURFACE = "batch"  # the surface recommendation ids of `POST /recommend/batch` name


async def active_version(store: OfferStore) -> str:
    version = await store.active_version()
    if version is None:
        raise StoreUnavailableError("no model version has been published yet")
    return version


@dataclass(slots=True)
class Answer:
    """A `Recommendation` and those of its items already at the impression cap when it was made
    (what its impressions count without writing, as on the hot path: `Impressions.capped`)."""

    recommendation: Recommendation
    capped: tuple[str, ...] = ()

    @property
    def degraded(self) -> bool:
        return self.recommendation.degraded

    @degraded.setter
    def degraded(self, value: bool) -> None:  # `Stores.answer` marks fallback answers
        self.recommendation.degraded = value


async def recommend(
    store: OfferStore,
    customer_id: str,
    k: int,
    include_purchased: bool,
    exclude: Collection[str] = (),
    category: str | None = None,
    live: LiveContext | None = None,
    surface: str = SECTION,
) -> Answer:
    """From the version the customer's experiment variant serves, else the active one."""
    chosen = await experiments.assignment(live, store, customer_id)
    version = chosen.version_or(await active_version(store))
    return await recommend_in(
        store, version, customer_id, k, include_purchased, exclude, category, live, chosen, surface
    )


async def recommend_in(
    store: OfferStore,
    version: str,
    customer_id: str,
    k: int,
    include_purchased: bool,
    exclude: Collection[str] = (),
    category: str | None = None,
    live: LiveContext | None = None,
    chosen: Assignment = NO_EXPERIMENT,
    surface: str = SECTION,
) -> Answer:
    """One customer's answer from `version`. With `live`, what the customer did since training
    changes the answer (see `service.live.overlays`); its state is read alongside the offers.
    A hold-out variant (`chosen.popular_only`) gets best-sellers only, nothing live or personal."""
    if chosen.popular_only:
        live = None
    now_ms = live.now_ms() if live else 0
    if live is not None and live.is_forgotten(customer_id):  # read as a customer never met
        offers, snapshot, degraded = None, LiveSnapshot(), False
    elif chosen.popular_only:
        offers, snapshot, degraded = None, LiveSnapshot(), False
    else:
        offers, (snapshot, degraded) = await asyncio.gather(
            store.customer_offers(version, customer_id), _snapshot(live, customer_id, now_ms)
        )
    popular = await store.popular_offers(version) if offers is None else []
    business = await customer_rules(store, version, customer_id, live, offers is not None)
    choice = choose(
        offers,
        popular,
        snapshot,
        await store.catalog(version),
        k,
        include_purchased,
        live,
        customer_id,
        now_ms,
        exclude,
        category,
        business,
    )
    rhythm = await rhythms_if_needed(store, version, customer_id, choice)
    fields = answer_fields(version, customer_id, choice, degraded, rhythm, chosen, surface)
    reco = Recommendation.model_validate(fields)
    if live is None:
        return Answer(reco)
    return Answer(reco, snapshot.capped_among([o.item_id for o in choice.offers], live.policy, now_ms))


@dataclass(frozen=True, slots=True)
class Choice:
    source: str
    offers: list[Offer]
    rules: ItemFilter
    scale: ScoreScale  # of the candidates the offers were chosen from (see `models.rules.ranking.ScoreScale`)
    featured: frozenset[str] = frozenset()  # pinned in by a business rule, not among the candidates


def choose(
    offers: list[Offer] | None,
    popular: list[Offer],
    snapshot: LiveSnapshot,
    catalog: Catalog,
    k: int,
    include_purchased: bool,
    live: LiveContext | None,
    customer_id: str,
    now_ms: int,
    exclude: Collection[str] = (),
    category: str | None = None,
    business: ListRules = NO_RULES,
) -> Choice:
    """The pure part of an answer, shared by the routes and the hot path (`service.hotpath`):
    the customer's candidates (or `popular` for a customer the version does not know), what they
    did since training, then the catalog rules, `exclude` and `category`, then the business rules
    active for them. Dropped items are refilled from the next candidates, so `k` holds while
    candidates last."""
    source = "personal"
    if offers is None:
        offers, source = popular, "popular"
    effect = live_effect(offers, source, snapshot, live, customer_id, now_ms) if live else LiveEffect(offers, source)
    rules = ItemFilter.of(catalog, exclude, category, business=business)
    pool = effect.offers if include_purchased else [o for o in effect.offers if not o.bought]
    if business.empty:
        return Choice(effect.source, select_offers(pool, k, True, rules.allows), rules, scale_of(pool))
    never = set(effect.hidden)
    if not include_purchased:
        never |= bought_by(effect, live, customer_id)
    return _with_business_rules(effect.source, pool, rules, k, never)


def _with_business_rules(source: str, pool: list[Offer], rules: ItemFilter, k: int, never: set[str]) -> Choice:
    """A pinned item may join the answer, but never one in `never` (returned, dismissed, or
    outside `include_purchased` bought); it scores 0 on the candidates' scale."""
    candidates: dict[str, Offer] = {}
    for o in pool:
        candidates.setdefault(o.item_id, o)
    picked = rules.pick(list(candidates), k, also=lambda i: i not in never, inject=True)
    featured = frozenset(i for i in picked if i not in candidates)
    offers = [candidates.get(i) or Offer(i, float("-inf"), False) for i in picked]
    return Choice(source, offers, rules, scale_of(pool), featured)


async def customer_rules(
    store: OfferStore, version: str, customer_id: str, live: LiveContext | None, known: bool
) -> ListRules:
    """The business rules active for this customer now (their segment's read only when a rule
    is for one segment; a customer the version does not know gets the global ones)."""
    rule_set = live.rule_set() if live is not None else None
    if rule_set is None or not rule_set.rules:
        return NO_RULES
    segment = None
    if known and rule_set.needs_segment():
        ingredients = await personal_store.ingredients(store, version, customer_id)
        segment = ingredients.segment if ingredients else None
    return rule_set.for_list(segment, live.clock())  # type: ignore[union-attr]


async def rhythms_if_needed(store: OfferStore, version: str, customer_id: str, choice: Choice) -> dict[str, str]:
    """Item -> the reason of its repeat purchases, as the store's buy-again section words it
    (the rhythm only where `models.rules.replenishment.rhythm_holds`), fetched only when a bought
    item is shown."""
    if not any(o.bought for o in choice.offers):
        return {}
    ingredients = await personal_store.ingredients(store, version, customer_id)
    return {b.item_id: b.reason for b in ingredients.buy_again} if ingredients else {}


def answer_fields(
    version: str,
    customer_id: str,
    choice: Choice,
    degraded: bool,
    rhythm: dict[str, str],
    chosen: Assignment = NO_EXPERIMENT,
    surface: str = SECTION,
) -> dict[str, Any]:
    """The `Recommendation` as plain JSON-ready fields, in the schema's order."""
    rules, source, scale = choice.rules, choice.source, choice.scale
    return {
        "customer_id": customer_id,
        "model_version": version,
        "source": source,
        "degraded": degraded,
        "items": [
            item_fields(
                rules,
                o.item_id,
                scale(o.score),
                FEATURED_REASON if o.item_id in choice.featured else _reason(o, source, rhythm),
            )
            for o in choice.offers
        ],
        "recommendation_id": experiments.stamp(chosen, version, surface, customer_id),
        "variant": chosen.label,
    }


def item_fields(rules: ItemFilter, item_id: str, score: float, reason: str) -> dict[str, Any]:
    """One answer item, in the schema's order (the hot path pre-renders it around its score,
    see `service.hotpath.cold`)."""
    return {
        "item_id": item_id,
        "title": rules.title(item_id),
        "price": rules.price(item_id),
        "score": score,
        "reason": reason,
        **rules.extras(item_id),
    }


async def recommend_batch(
    store: OfferStore, request: BatchRecommendRequest, live: LiveContext | None = None
) -> BatchRecommendation:
    """Every customer of the batch answered from the same version, concurrently; under an
    experiment, each from the version of their variant (each result names its own)."""
    version = await active_version(store)
    experiment = await experiments.running(live)
    chosen = [experiments.assign(experiment, cid, store, live) for cid in request.customer_ids]
    answers = await asyncio.gather(
        *(
            recommend_in(
                store,
                a.version_or(version),
                cid,
                request.k,
                request.include_purchased,
                request.exclude,
                request.category,
                live,
                a,
                BATCH_SURFACE,
            )
            for cid, a in zip(request.customer_ids, chosen, strict=True)
        )
    )
    return BatchRecommendation(model_version=version, results=[a.recommendation for a in answers])


async def _snapshot(live: LiveContext | None, customer_id: str, now_ms: int) -> tuple[LiveSnapshot, bool]:
    """The customer's live state; if it cannot be read, the precomputed answer still goes out,
    marked degraded."""
    if live is None:
        return LiveSnapshot(), False
    try:
        return await live.state.overlay(customer_id, now_ms), False
    except StoreUnavailableError as exc:
        log.warning("live state unavailable, answering without it: %s", exc)
        return LiveSnapshot(), True


def _reason(offer: Offer, source: str, rhythm: dict[str, str]) -> str:
    if source == "popular":
        return REASON_BEST_SELLER
    if not offer.bought:
        return REASON_LIKE_YOU
    return rhythm.get(offer.item_id, REASON_BOUGHT_BEFORE)
