"""A customer's overlay view: the part of their live state that can change an answer, as one
JSON string the Redis scripts rebuild whenever it changes (see `service.live.redis_state`).

Reading one key per request instead of the five parts it summarises keeps `/recommend` at one
Redis read per customer; most customers have no view at all (nothing happened since training,
nothing shown too often), and the key is simply absent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from service.live.state import LiveSnapshot

EMPTY = LiveSnapshot()


def snapshot_from_view(raw: bytes | None, now_ms: int) -> LiveSnapshot:
    """The `LiveSnapshot` the overlays need: purchases, running suppressions, returned or
    complained items, the items at or over the impression cap (with their window), and the
    replenishment plans subscribed to or left (the personal store marks them)."""
    return overlay_from_view(raw, now_ms, 0)[0]


def overlay_from_view(raw: bytes | None, now_ms: int, window_ms: int) -> tuple[LiveSnapshot, float]:
    """`snapshot_from_view`, and until when an answer computed from it at `now_ms` stays right
    while the view does not change: the earliest end of a running suppression or of a capped
    item's window (`window_ms`)."""
    if not raw:
        return EMPTY, float("inf")
    view: dict[str, Any] = orjson.loads(raw)
    bought, recent, suppressed, negative, capped, plans = (_flat(view.get(part)) for part in "brsncp")
    last_ms = {item: int(float(ms)) for item, ms in _pairs(recent)}
    running = {item: float(until) for item, until in _pairs(suppressed) if float(until) > now_ms}
    at_cap = {item: int(since) for item, since in _pairs(capped)}
    window_ends = (since + window_ms + 1 for since in at_cap.values() if now_ms - since <= window_ms)
    ends = [*running.values(), *window_ends]
    snapshot = LiveSnapshot(
        purchases={item: (int(n), last_ms.get(item, 0)) for item, n in _pairs(bought)},
        suppressed=frozenset(running),
        negative=tuple(negative),
        at_cap_since=at_cap,
        plans=dict(_pairs(plans)),
    )
    return snapshot, min(ends, default=float("inf"))


def _flat(value: object) -> Sequence[str]:
    """Lua's cjson writes an empty table as `{}`: read it as an empty list."""
    return value if isinstance(value, list) else []


def _pairs(flat: Sequence[str]) -> zip[tuple[str, str]]:
    return zip(flat[0::2], flat[1::2], strict=True)
