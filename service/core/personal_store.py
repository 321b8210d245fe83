"""The domain core behind `/personal-store`: a customer's Amazon-style page, assembled per
request from a handful of published documents (their `c:` and `store:` documents, their
segment's and the shop's trending, the catalog), so time-dependent catalog rules and the
request's `exclude`/`category` apply to every section.

Buy-again timing, replenishment plans and loyalty are measured at the end of the training data
(see `models.contract.store_documents`); for a daily-trained model that is yesterday. A plan's
status (subscribed, unsubscribed) comes from the live state, as everything else live does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from dataclasses import replace
from datetime import UTC, datetime

from models import contract
from models.contract.store_documents import ALL_CUSTOMERS, NEW_ARRIVALS, store_doc, trending_doc
from models.rules import loyalty
from models.rules.business import EMPTY_RULES
from service.core import experiments, replenishment
from service.core.experiments import NO_EXPERIMENT, Assignment
from service.core.filters import ItemFilter
from service.core.store_sections import (
    Ingredients,
    SectionPlan,
    Trending,
    adjust,
    assemble,
    plan_because,
    plan_buy_again,
    plan_for_you,
    plan_new_arrivals,
    plan_popular,
    plan_shop_trending,
    plan_trending,
)
from service.http.schemas import Loyalty, PersonalStore
from service.live.overlays import LiveContext, LiveEffect, bought_by, live_effect
from service.live.state import LiveSnapshot
from service.storage.json_documents import json_document
from service.storage.stores import OfferStore, StoreUnavailableError

log = logging.getLogger(__name__)

UNKNOWN_LOYALTY = Loyalty(tier="new", why=loyalty.UNKNOWN_CUSTOMER_WHY)
FIRST_ORDER_LOYALTY = Loyalty(tier="new", why=loyalty.FIRST_ORDER_WHY)
FROM_OFFERS = frozenset({"for_you", "popular"})  # sections made from the live-adjusted candidates


async def ingredients(store: OfferStore, version: str, customer_id: str) -> Ingredients | None:
    doc = await json_document(store, version, store_doc(customer_id))
    return Ingredients.from_json(doc) if doc else None


async def personal_store(
    store: OfferStore,
    version: str,
    customer_id: str,
    k: int,
    exclude: Collection[str] = (),
    category: str | None = None,
    live: LiveContext | None = None,
    snapshot: LiveSnapshot | None = None,
    chosen: Assignment = NO_EXPERIMENT,
    at: datetime | None = None,
) -> PersonalStore:
    """With `live`, the customer's live state changes every section as it changes `/recommend`
    (`snapshot`: already read, e.g. by the hot path), and its business rules apply. A forgotten
    customer gets the store of a customer never met, read without their documents or live state;
    so does a customer in a hold-out variant (`chosen.popular_only`), without live state but
    under the business rules. `at`: the store as of that moment for the catalog and business
    rules (the preview's look ahead; the live state stays today's)."""
    moment = at or (live.clock() if live is not None else datetime.now(UTC))
    business = live.rule_set() if live is not None else EMPTY_RULES
    if chosen.popular_only:
        live = None
    now_ms = live.now_ms() if live is not None else 0
    degraded = False
    if chosen.popular_only or (live is not None and live.is_forgotten(customer_id)):
        offers, ing, snap = None, None, LiveSnapshot()
    else:
        offers, ing, (snap, degraded) = await asyncio.gather(
            store.customer_offers(version, customer_id),
            ingredients(store, version, customer_id),
            _live_snapshot(live, customer_id, now_ms, snapshot),
        )
    segment = ing.segment if offers is not None and ing is not None else None
    day = moment.date() if at is not None else None
    rules = ItemFilter.of(await store.catalog(version), exclude, category, day, business.for_list(segment, moment))
    if offers is None or ing is None:  # unknown customer (or a version trained without stores)
        popular, everyone, new = await asyncio.gather(
            store.popular_offers(version), _trending(store, version, ALL_CUSTOMERS), _new_arrivals(store, version)
        )
        effect = _effect(popular, "popular", snap, live, customer_id, now_ms)
        first = plan_for_you(effect.offers) if effect.source == "personal" else plan_popular(effect.offers)
        plans = [first, plan_shop_trending(everyone), plan_new_arrivals(new, personal=False)]
        tier = FIRST_ORDER_LOYALTY if effect.source == "personal" else UNKNOWN_LOYALTY
        return _page(customer_id, version, effect, tier, plans, rules, k, degraded, chosen, live)
    mine, everyone, end_day = await asyncio.gather(
        _trending(store, version, ing.segment),
        _trending(store, version, ALL_CUSTOMERS),
        replenishment.data_end_day(store, version),
    )
    effect = _effect(offers, "personal", snap, live, customer_id, now_ms)
    plans = [plan_buy_again(ing, replenishment.store_plans(ing, end_day, snap)), plan_for_you(effect.offers)]
    if ing.anchor and ing.anchor not in effect.hidden:  # never "because you bought" what they returned
        plans.append(plan_because(ing, rules.title(ing.anchor)))
    plans.append(plan_trending(ing, mine, everyone))
    plans.append(plan_new_arrivals(ing.new_arrivals, personal=True))
    return _page(customer_id, version, effect, customer_loyalty(ing), plans, rules, k, degraded, chosen, live)


def _effect(
    offers: list[contract.Offer],
    source: str,
    snapshot: LiveSnapshot,
    live: LiveContext | None,
    customer_id: str,
    now_ms: int,
) -> LiveEffect:
    if live is None:
        return LiveEffect(offers, source)
    return live_effect(offers, source, snapshot, live, customer_id, now_ms)


def _page(
    customer_id: str,
    version: str,
    effect: LiveEffect,
    tier: Loyalty,
    plans: list[SectionPlan],
    rules: ItemFilter,
    k: int,
    degraded: bool,
    chosen: Assignment,
    live: LiveContext | None = None,
) -> PersonalStore:
    """The sections after the live state (those made from `effect.offers` have it already; they
    take pinned items, but never ones the customer bought or had hidden), each with its
    recommendation id (the section is its surface)."""
    adjusted = [p if p.id in FROM_OFFERS else adjust(p, effect.hidden, effect.bought, effect.demoted) for p in plans]
    if not rules.business.empty:
        never = frozenset(effect.hidden | bought_by(effect, live, customer_id))
        adjusted = [replace(p, pins=True, never=never) if p.id in FROM_OFFERS else p for p in adjusted]
    day = experiments.utc_day()
    sections = [
        s.model_copy(update={"recommendation_id": experiments.stamp(chosen, version, s.id, customer_id, day)})
        for s in assemble(adjusted, rules, k)
    ]
    return PersonalStore(
        customer_id=customer_id,
        model_version=version,
        source=effect.source,
        loyalty=tier,
        sections=sections,
        degraded=degraded,
        variant=chosen.label,
    )


async def _live_snapshot(
    live: LiveContext | None, customer_id: str, now_ms: int, given: LiveSnapshot | None
) -> tuple[LiveSnapshot, bool]:
    """The customer's live state; unreadable, the store still answers without it (degraded)."""
    if live is None:
        return LiveSnapshot(), False
    if given is not None:
        return given, False
    try:
        return await live.state.overlay(customer_id, now_ms), False
    except StoreUnavailableError as exc:
        log.warning("live state unavailable, the store answers without it: %s", exc)
        return LiveSnapshot(), True


def customer_loyalty(ing: Ingredients) -> Loyalty:
    return Loyalty(tier=ing.tier, why=loyalty.why(ing.tier, ing.rfm))  # type: ignore[arg-type]


async def _trending(store: OfferStore, version: str, segment: int | str) -> Trending | None:
    doc = await json_document(store, version, trending_doc(segment))
    return Trending.from_json(doc) if doc else None


async def _new_arrivals(store: OfferStore, version: str) -> list[tuple[str, float]]:
    raw = await store.document(version, NEW_ARRIVALS)
    return [(o.item_id, o.score) for o in contract.decode_offers(raw)] if raw else []
