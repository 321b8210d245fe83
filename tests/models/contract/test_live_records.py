"""The live state's Redis keys and the event record format (log lines and stream entries)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from models.contract import live_key
from models.contract.events import Event, LoggedEvent, from_record, from_stream, id_key, to_record


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
