"""The domain core behind `/personal-store`: a customer's Amazon-style page, assembled per
request from a handful of published documents (their `c:` and `store:` documents, their
segment's and the shop's trending, the catalog), so time-dependent catalog rules and the
request's `exclude`/`category` apply to every section.

Buy-again timing and loyalty are measured at the end of the training data (see
`models.store_documents`); for a daily-trained model that is yesterday.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection

from models import contract, loyalty
from models.store_documents import ALL_CUSTOMERS, NEW_ARRIVALS, store_doc, trending_doc
from service.filters import ItemFilter
from service.json_documents import json_document
from service.schemas import Loyalty, PersonalStore
from service.store import OfferStore
from service.store_sections import (
    Ingredients,
    Trending,
    assemble,
    plan_because,
    plan_buy_again,
    plan_for_you,
    plan_new_arrivals,
    plan_popular,
    plan_shop_trending,
    plan_trending,
)

UNKNOWN_LOYALTY = Loyalty(tier="new", why=loyalty.UNKNOWN_CUSTOMER_WHY)


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
) -> PersonalStore:
    offers, ing = await asyncio.gather(store.customer_offers(version, customer_id),
                                       ingredients(store, version, customer_id))
    rules = ItemFilter.of(await store.catalog(version), exclude, category)
    if offers is None or ing is None:  # unknown customer (or a version trained without stores)
        popular, everyone, new = await asyncio.gather(store.popular_offers(version),
                                                      _trending(store, version, ALL_CUSTOMERS),
                                                      _new_arrivals(store, version))
        plans = [plan_popular(popular), plan_shop_trending(everyone), plan_new_arrivals(new, personal=False)]
        return PersonalStore(customer_id=customer_id, model_version=version, source="popular",
                             loyalty=UNKNOWN_LOYALTY, sections=assemble(plans, rules, k))
    mine, everyone = await asyncio.gather(_trending(store, version, ing.segment),
                                          _trending(store, version, ALL_CUSTOMERS))
    plans = [plan_buy_again(ing), plan_for_you(offers)]
    if ing.anchor:
        plans.append(plan_because(ing, rules.title(ing.anchor)))
    plans.append(plan_trending(ing, mine, everyone))
    plans.append(plan_new_arrivals(ing.new_arrivals, personal=True))
    return PersonalStore(customer_id=customer_id, model_version=version, source="personal",
                         loyalty=customer_loyalty(ing), sections=assemble(plans, rules, k))


def customer_loyalty(ing: Ingredients) -> Loyalty:
    return Loyalty(tier=ing.tier, why=loyalty.why(ing.tier, ing.rfm))  # type: ignore[arg-type]


async def _trending(store: OfferStore, version: str, segment: int | str) -> Trending | None:
    doc = await json_document(store, version, trending_doc(segment))
    return Trending.from_json(doc) if doc else None


async def _new_arrivals(store: OfferStore, version: str) -> list[tuple[str, float]]:
    raw = await store.document(version, NEW_ARRIVALS)
    return [(o.item_id, o.score) for o in contract.decode_offers(raw)] if raw else []

