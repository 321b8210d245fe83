"""Choosing what to offer: bought items, refills, exclusions, the merge of discovery and bought
lists, and the live rules (bought flags, demotion)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

from models.contract import Offer
from models.rules.ranking import customer_offers, demote, mark_bought, select_offers

OFFERS = [Offer("a", 0.9, True), Offer("b", 0.8), Offer("c", 0.7), Offer("b", 0.6), Offer("d", 0.5)]
LIVE = [Offer("a", 0.9), Offer("b", 0.8), Offer("c", 0.7, True), Offer("d", 0.6)]  # no repeats


def test_select_skips_bought_by_default_and_refills() -> None:
    chosen = select_offers(OFFERS, 2, include_bought=False, offerable=lambda i: True)
    assert [o.item_id for o in chosen] == ["b", "c"]


def test_select_includes_bought_on_request() -> None:
    chosen = select_offers(OFFERS, 2, include_bought=True, offerable=lambda i: True)
    assert [o.item_id for o in chosen] == ["a", "b"]


def test_select_drops_unofferable_and_excluded_and_duplicates() -> None:
    chosen = select_offers(OFFERS, 10, include_bought=True, offerable=lambda i: i != "c", excluded={"a"})
    assert [o.item_id for o in chosen] == ["b", "d"]


def test_customer_offers_merges_discovery_and_bought() -> None:
    items = np.array(["x", "y", "z", "w"])
    history = sp.csr_matrix(np.array([[1, 0, 0, 1]], dtype=np.float32))
    disc = (np.array([[1, 2]]), np.array([[0.5, 0.2]], dtype=np.float32))
    every = (np.array([[0, 1]]), np.array([[0.9, 0.5]], dtype=np.float32))
    offers = customer_offers(0, disc[0], disc[1], every[0], every[1], history, items)
    assert offers == [Offer("x", offers[0].score, True), Offer("y", 0.5, False), Offer("z", offers[2].score, False)]
    assert offers[0].score > offers[1].score > offers[2].score


def test_mark_bought_flags_only_live_purchases() -> None:
    assert [o.bought for o in mark_bought(LIVE, {"b", "c"})] == [False, True, True, False]


def test_demote_moves_items_behind_keeping_each_groups_order() -> None:
    assert [o.item_id for o in demote(LIVE, {"a", "c"})] == ["b", "d", "a", "c"]


@given(st.lists(st.sampled_from("abcdefgh"), unique=True), st.sets(st.sampled_from("abcdefgh")))
def test_demote_is_a_permutation_with_demoted_last(items: list[str], demoted: set[str]) -> None:
    offers = [Offer(i, 1.0 - n / 10) for n, i in enumerate(items)]
    out = demote(offers, demoted)
    assert sorted(out) == sorted(offers)
    flags = [o.item_id in demoted for o in out]
    assert flags == sorted(flags)
