"""Customer feedback events: the record the service logs and the training job folds back in.

One format for the durable log in both stores (a Redis Stream entry, or one JSONL line of the
embedded store's file) and for `microoffers events export`, so `train --events-from` reads a
Redis URL or a file alike. Every logged event has an id `<ms>-<seq>` (Redis Stream ids, and the
same shape for the file log) that orders the log: a training run records the last id it
consumed, and the next one reads only what came after it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, get_args

import orjson

EventType = Literal[
    "purchase",
    "view",
    "click",
    "add_to_cart",
    "dismiss",
    "return",
    "complaint",
    "impression",
    "subscribe",  # to the item's replenishment plan (reminders when due)
    "unsubscribe",  # from it: no more reminders of the item
]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)
ENGAGEMENT_TYPES = frozenset({"purchase", "click", "add_to_cart"})  # reset an item's impression cap
NEGATIVE_TYPES = frozenset({"return", "complaint"})  # suppress the item, push down similar ones
PLAN_STATES = {"subscribe": "subscribed", "unsubscribe": "unsubscribed"}  # event -> replenishment plan state

# Field names of a stream entry (the Lua script in `service.live.redis_state` writes the same).
STREAM_FIELDS = ("customer_id", "item_id", "type", "ts", "quantity", "section")


@dataclass(frozen=True, slots=True)
class Event:
    """One validated event; `ts_ms` is when it happened (epoch milliseconds, UTC)."""

    customer_id: str
    item_id: str
    type: EventType
    ts_ms: int
    quantity: int = 1
    section: str | None = None
    # what experiments attribute by (service.core.experiments); not part of the durable log
    recommendation_id: str | None = None
    price: float | None = None  # the price paid, when the client knows it (else the catalog's)


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    id: str
    event: Event


def id_key(event_id: str) -> tuple[int, int]:
    """Sort key of a log id: `<ms>-<seq>` compares numerically, part by part."""
    ms, _, seq = event_id.partition("-")
    return int(ms), int(seq or 0)


def ms_to_iso(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def iso_to_ms(text: str) -> int:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(round(moment.timestamp() * 1000))


def to_record(logged: LoggedEvent) -> dict[str, Any]:
    """The JSONL line of one logged event (export format and embedded log format)."""
    e = logged.event
    return {
        "id": logged.id,
        "customer_id": e.customer_id,
        "item_id": e.item_id,
        "type": e.type,
        "timestamp": ms_to_iso(e.ts_ms),
        "quantity": e.quantity,
        "section": e.section,
    }


def from_record(record: dict[str, Any]) -> LoggedEvent:
    kind = str(record["type"])
    if kind not in EVENT_TYPES:
        raise ValueError(f"unknown event type {kind!r}")
    event = Event(
        customer_id=str(record["customer_id"]),
        item_id=str(record["item_id"]),
        type=kind,  # type: ignore[arg-type]
        ts_ms=iso_to_ms(str(record["timestamp"])),
        quantity=int(record.get("quantity") or 1),
        section=record.get("section") or None,
    )
    return LoggedEvent(str(record["id"]), event)


def read_log(path: Path) -> Iterator[tuple[int, LoggedEvent | ValueError]]:
    """Each non-blank line of a JSONL event log with its line number: the event, or what is
    wrong with the line (the caller decides whether that is fatal)."""
    with open(path, "rb") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                logged = from_record(orjson.loads(line))
                id_key(logged.id)
            except (ValueError, KeyError, TypeError) as exc:
                yield number, ValueError(f"not an event record: {exc}")
                continue
            yield number, logged


def from_stream(event_id: bytes | str, fields: dict[bytes, bytes]) -> LoggedEvent:
    """A Redis Stream entry (as redis-py returns it) back into an event."""
    f = {k.decode(): v.decode() for k, v in fields.items()}
    record = {**f, "id": event_id.decode() if isinstance(event_id, bytes) else event_id}
    record["timestamp"] = ms_to_iso(int(f["ts"]))
    return from_record(record)
