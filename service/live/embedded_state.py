"""Live state without Redis: dicts in process memory, an append-only JSONL file as the log.

Each accepted batch is appended to the file (and flushed) before the state changes and before
the service answers, so a restart loses nothing: at start-up the file is replayed into the
state. One process owns the file: run the embedded store with one worker (the demo setting).
Impressions the service records itself are not logged (they would dwarf the log), so the
capping counts of the embedded store start afresh after a restart; Redis keeps them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import BinaryIO

import orjson

from models.contract.events import NEGATIVE_TYPES, Event, LoggedEvent, from_record, id_key, read_log, to_record
from service.core.deny_list import CustomerForgottenError
from service.live.state import (
    CustomerState,
    Impressions,
    LivePolicy,
    LiveSnapshot,
    LiveState,
    Recorded,
    Shown,
    feedback_field,
)
from service.storage.stores import StoreUnavailableError

log = logging.getLogger(__name__)
NEGATIVE_KEPT = 1000  # newest returns and complaints held for the preview's complaints page


class EmbeddedLiveState(LiveState):
    kind = "embedded"

    def __init__(
        self,
        policy: LivePolicy,
        log_path: Path | None,
        segment_of: Callable[[str], str] = lambda _c: "unknown",
        forgotten: Collection[str] = frozenset(),
    ) -> None:
        """`forgotten`: the live deny list (shared): nothing about those customers is recorded
        or replayed."""
        super().__init__(policy)
        self._forgotten = forgotten
        self._segment_of = segment_of
        self._customers: dict[str, CustomerState] = defaultdict(CustomerState)
        self._counts: dict[str, int] = defaultdict(int)
        self._items: dict[str, dict[str, int]] = {"return": defaultdict(int), "complaint": defaultdict(int)}
        self._lock = threading.Lock()
        self._negative: deque[LoggedEvent] = deque(maxlen=NEGATIVE_KEPT)  # newest last
        self._last_id = (0, -1)
        self._file: BinaryIO | None = None
        self._log_path = log_path
        self._log_error: str | None = None
        if log_path is not None:
            try:
                self._replay(log_path)
                log_path.parent.mkdir(parents=True, exist_ok=True)
                self._file = open(log_path, "ab")  # noqa: SIM115 - held open for the life of the service
            except OSError as exc:  # recommendations still work; events are refused, never half-kept
                self._log_error = f"event log {log_path} unavailable: {exc}"
                log.error("%s; POST /events will answer 503", self._log_error)

    def _replay(self, path: Path) -> None:
        if not path.exists():
            return
        replayed = 0
        for number, logged in read_log(path):
            if isinstance(logged, ValueError):  # a line cut short by a crash
                log.warning("event log %s line %d skipped: %s", path, number, logged)
                continue
            if logged.event.customer_id in self._forgotten:
                continue
            self._apply(logged.event, self._segment_of(logged.event.customer_id))
            self._keep_negative(logged)
            self._last_id = max(self._last_id, id_key(logged.id))
            replayed += 1
        log.info("replayed %d events from %s", replayed, path)

    def _next_id(self, now_ms: int) -> str:
        ms, seq = self._last_id
        self._last_id = (ms, seq + 1) if now_ms <= ms else (now_ms, 0)
        return f"{self._last_id[0]}-{self._last_id[1]}"

    def _apply(self, e: Event, segment: str) -> tuple[str, str]:
        source, section = self._customers[e.customer_id].apply(e, self.policy)
        self._counts[feedback_field(e.type, source, section, segment)] += 1
        if e.type in self._items:
            self._items[e.type][e.item_id] += 1
        return source, section

    async def record(self, events: Sequence[Event], segments: Sequence[str], now_ms: int) -> list[Recorded]:
        if self._log_error is not None:
            raise StoreUnavailableError(self._log_error)
        if denied := sorted({e.customer_id for e in events} & set(self._forgotten)):
            raise CustomerForgottenError(denied)
        with self._lock:
            wall_ms = max(now_ms, int(time.time() * 1000))
            logged = [LoggedEvent(self._next_id(wall_ms), e) for e in events]
            if self._file is not None:  # the log first: what was answered 202 is on disk
                self._file.write(b"".join(orjson.dumps(to_record(x)) + b"\n" for x in logged))
                self._file.flush()
            out = []
            for x, segment in zip(logged, segments, strict=True):
                source, section = self._apply(x.event, segment)
                self._keep_negative(x)
                out.append(Recorded(x.id, source, section))
            return out

    def _keep_negative(self, logged: LoggedEvent) -> None:
        if logged.event.type in NEGATIVE_TYPES:
            self._negative.append(logged)

    async def recent_negative(self, limit: int) -> list[LoggedEvent]:
        with self._lock:
            return list(reversed(self._negative))[:limit]

    async def record_impressions(self, impressions: Impressions, now_ms: int) -> None:
        """As the Redis script does: items at the cap are counted, their counts left as they are."""
        customer_id, item_ids, source, section, segment, capped = impressions
        if not item_ids or customer_id in self._forgotten:
            return
        with self._lock:
            shown = self._customers[customer_id].shown
            for item in item_ids:
                if item in capped:
                    continue
                prior = shown.get(item) or Shown(now_ms, 0, source, section)
                shown[item] = prior.impressed(now_ms, self.policy.cap_window_ms, source, section)
            self._counts[feedback_field("impression", source, section, segment)] += len(item_ids)

    async def snapshot(self, customer_id: str, now_ms: int) -> LiveSnapshot:
        with self._lock:
            state = self._customers.get(customer_id)
            return state.snapshot(now_ms) if state else LiveSnapshot()

    async def overlays(self, now_ms: int) -> list[tuple[str, LiveSnapshot]]:
        with self._lock:
            return [(c, state.snapshot(now_ms)) for c, state in self._customers.items()]

    async def claim_contact(self, customer_id: str, now_ms: int, min_interval_ms: int) -> int | None:
        if customer_id in self._forgotten:
            raise CustomerForgottenError([customer_id])
        with self._lock:
            state = self._customers[customer_id]
            last = state.contact_ms
            if last is not None and now_ms - last < min_interval_ms:
                return last
            state.contact_ms = now_ms
            return None

    async def feedback_counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    async def item_feedback(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {kind: dict(counts) for kind, counts in self._items.items()}

    async def customer_events(self, customer_id: str) -> list[LoggedEvent]:
        return await asyncio.to_thread(self._customer_events, customer_id)

    def _customer_events(self, customer_id: str) -> list[LoggedEvent]:
        if self._file is None or self._log_path is None:
            return []
        # Without the lock (a long read must not stall recording): a batch being appended right
        # now shows up as an unparsable last line, skipped like a line cut short by a crash.
        return [
            x
            for _, x in read_log(self._log_path)
            if not isinstance(x, ValueError) and x.event.customer_id == customer_id
        ]

    async def forget(self, customer_id: str) -> int:
        if self._log_error is not None:
            raise StoreUnavailableError(self._log_error)
        return await asyncio.to_thread(self._forget, customer_id)

    def _forget(self, customer_id: str) -> int:
        """Drop the state, and rewrite the log without the customer's lines: written beside it,
        synced, then renamed over it, so a crash leaves the old log or the new one, never half."""
        with self._lock:
            self._customers.pop(customer_id, None)
            kept = [x for x in self._negative if x.event.customer_id != customer_id]
            self._negative.clear()
            self._negative.extend(kept)
            if self._file is None or self._log_path is None:
                return 0
            path, tmp = self._log_path, self._log_path.with_name(self._log_path.name + ".tmp")
            removed = 0
            with open(path, "rb") as src, open(tmp, "wb") as dst:
                for line in src:
                    if _is_customers(line, customer_id):
                        removed += 1
                    else:
                        dst.write(line)
                dst.flush()
                os.fsync(dst.fileno())
            os.replace(tmp, path)  # the old handle still points at the replaced file: swap it next
            _fsync_dir(path.parent)
            old, self._file = self._file, open(path, "ab")  # noqa: SIM115 - held open for the service's life
            old.close()
            return removed

    async def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _is_customers(line: bytes, customer_id: str) -> bool:
    """True for a log line holding one of the customer's events (lines that do not parse, e.g.
    cut short by a crash, are kept as they were)."""
    if not line.strip():
        return False
    try:
        return from_record(orjson.loads(line)).event.customer_id == customer_id
    except (ValueError, KeyError, TypeError):
        return False


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
