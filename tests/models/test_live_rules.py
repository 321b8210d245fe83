"""The live ranking rules and the event record format."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from models.contract import Offer, live_key
from models.contract.events import Event, LoggedEvent, from_record, from_stream, id_key, to_record
from models.rules.ranking import demote, mark_bought

OFFERS = [Offer("a", 0.9), Offer("b", 0.8), Offer("c", 0.7, True), Offer("d", 0.6)]


def test_mark_bought_flags_only_live_purchases() -> None:
    assert [o.bought for o in mark_bought(OFFERS, {"b", "c"})] == [False, True, True, False]


def test_demote_moves_items_behind_keeping_each_groups_order() -> None:
    assert [o.item_id for o in demote(OFFERS, {"a", "c"})] == ["b", "d", "a", "c"]


@given(st.lists(st.sampled_from("abcdefgh"), unique=True), st.sets(st.sampled_from("abcdefgh")))
def test_demote_is_a_permutation_with_demoted_last(items: list[str], demoted: set[str]) -> None:
    offers = [Offer(i, 1.0 - n / 10) for n, i in enumerate(items)]
    out = demote(offers, demoted)
    assert sorted(out) == sorted(offers)
    flags = [o.item_id in demoted for o in out]
    assert flags == sorted(flags)


def test_live_keys_share_the_customers_hash_tag() -> None:
    assert live_key("13085", "bought") == "mo:live:{13085}:bought"


def test_log_ids_order_numerically() -> None:
    assert id_key("1700000000000-10") > id_key("1700000000000-9") > id_key("999999999999-99")


@given(
    st.sampled_from(["purchase", "view", "click", "add_to_cart", "dismiss", "return", "complaint", "impression"]),
    st.integers(0, 4_102_444_800_000),
    st.integers(1, 1000),
    st.sampled_from([None, "email"]),
)
def test_record_and_stream_entry_round_trip(kind: str, ts_ms: int, quantity: int, section: str | None) -> None:
    logged = LoggedEvent("5-1", Event("c1", "i1", kind, ts_ms, quantity, section))  # type: ignore[arg-type]
    assert from_record(to_record(logged)) == logged
    fields = {
        b"customer_id": b"c1",
        b"item_id": b"i1",
        b"type": kind.encode(),
        b"ts": str(ts_ms).encode(),
        b"quantity": str(quantity).encode(),
        b"section": (section or "").encode(),
    }
    assert from_stream(b"5-1", fields) == logged
