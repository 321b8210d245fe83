"""Invariants of the personal store and of `/recommend`'s filtering, for any ingredients,
catalog, exclusions and k (Hypothesis): no duplicates, nothing undeliverable, excluded or off
category, at most k, short lists only when candidates ran out, buy-again only from purchases."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from models.contract import Offer
from models.rules.catalog import CatalogItem
from models.rules.loyalty import RFM
from models.rules.ranking import select_offers
from service.core.filters import ItemFilter
from service.core.store_sections import (
    BuyAgain,
    Ingredients,
    Trending,
    assemble,
    plan_because,
    plan_buy_again,
    plan_for_you,
    plan_new_arrivals,
    plan_trending,
)

DAY = date(2024, 6, 1)
ITEMS = [f"i{n}" for n in range(30)]
item = st.sampled_from(ITEMS)


@st.composite
def catalogs(draw: st.DrawFn) -> dict[str, CatalogItem]:
    out = {}
    for item_id in ITEMS:
        if draw(st.integers(0, 9)) == 0:
            continue  # not in the catalog at all
        start = draw(st.sampled_from([None, DAY - timedelta(days=3), DAY, DAY + timedelta(days=1)]))
        out[item_id] = CatalogItem(
            item_id, item_id.upper(), 1.0, draw(st.sampled_from(["toys", "Home", None])), draw(st.booleans()), start
        )
    return out


@st.composite
def ingredients(draw: st.DrawFn) -> tuple[Ingredients, set[str], list[Offer]]:
    purchased = set(draw(st.lists(item, max_size=15)))
    repeat = draw(st.lists(st.sampled_from(sorted(purchased)), max_size=10)) if purchased else []
    pairs = st.lists(st.tuples(item, st.floats(0, 1)), max_size=20)
    ing = Ingredients(
        segment=0,
        tier="regular",
        rfm=RFM(5, 3, 100, 60),
        buy_again=[BuyAgain(i, 14.0, 10.0, 0.5) for i in repeat],
        anchor=sorted(purchased)[0] if purchased else None,
        because=draw(pairs),
        new_arrivals=draw(pairs),
        bought_trending=frozenset(draw(st.lists(item, max_size=5))),
    )
    offers = [Offer(i, s, i in purchased) for i, s in draw(pairs)]
    return ing, purchased, offers


trending_docs = st.builds(
    Trending,
    window_days=st.just(28.0),
    segment=st.just("seg"),
    items=st.lists(st.tuples(item, st.floats(0, 9), st.floats(0, 9), st.floats(0, 9)), max_size=12),
)
filters = st.tuples(st.lists(item, max_size=6), st.sampled_from([None, "toys", "TOYS", "home"]))


def _allowed(catalog: dict[str, CatalogItem], item_id: str, excluded: set[str], category: str | None) -> bool:
    entry = catalog.get(item_id)
    return (
        entry is not None
        and entry.available
        and (entry.available_from is None or entry.available_from <= DAY)
        and item_id not in excluded
        and (category is None or (entry.category or "").lower() == category.lower())
    )


@settings(max_examples=300, deadline=None)
@given(catalogs(), ingredients(), trending_docs, trending_docs, filters, st.integers(1, 12))
def test_store_invariants(catalog, data, mine, everyone, filt, k) -> None:  # type: ignore[no-untyped-def]
    ing, purchased, offers = data
    excluded, category = set(filt[0]), filt[1]
    rules = ItemFilter.of(catalog, excluded, category, day=DAY)
    plans = [
        plan_buy_again(ing, {}),
        plan_for_you(offers),
        plan_because(ing, "X"),
        plan_trending(ing, mine, everyone),
        plan_new_arrivals(ing.new_arrivals, personal=True),
    ]
    sections = assemble(plans, rules, k)
    shown = [i.item_id for s in sections for i in s.items]
    assert len(shown) == len(set(shown))  # no item twice in one store
    assert all(_allowed(catalog, i, excluded, category) for i in shown)
    assert all(0 < len(s.items) <= k for s in sections)
    ids = [s.id for s in sections]
    assert ids == [p.id for p in plans if p.id in ids]  # page order kept
    by_id = {s.id: s for s in sections}
    if "buy_again" in by_id:
        assert {i.item_id for i in by_id["buy_again"].items} <= purchased
    if "for_you" in by_id:
        assert not {i.item_id for i in by_id["for_you"].items} & purchased
    for plan in plans:  # a short section means its allowed candidates ran out (all shown somewhere)
        got = by_id.get(plan.id)
        if got is None or len(got.items) < k:
            allowed = {c.item_id for c in plan.candidates if _allowed(catalog, c.item_id, excluded, category)}
            assert allowed <= set(shown)


@settings(max_examples=300, deadline=None)
@given(
    catalogs(),
    st.lists(st.tuples(item, st.floats(0, 1), st.booleans()), max_size=40),
    filters,
    st.integers(1, 20),
    st.booleans(),
)
def test_recommend_filter_invariants(catalog, raw, filt, k, include_bought) -> None:  # type: ignore[no-untyped-def]
    offers = [Offer(i, s, b) for i, s, b in raw]
    excluded, category = set(filt[0]), filt[1]
    rules = ItemFilter.of(catalog, excluded, category, day=DAY)
    chosen = select_offers(offers, k, include_bought, rules.allows)
    ids = [o.item_id for o in chosen]
    assert len(ids) <= k and len(ids) == len(set(ids))
    assert all(_allowed(catalog, i, excluded, category) for i in ids)
    assert include_bought or not any(o.bought for o in chosen)
    eligible = {
        o.item_id
        for o in offers
        if (include_bought or not o.bought) and _allowed(catalog, o.item_id, excluded, category)
    }
    assert len(ids) == min(k, len(eligible))  # k honoured while candidates last
