"""Live state without Redis: dicts in process memory, an append-only JSONL file as the log.

Each accepted batch is appended to the file (and flushed) before the state changes and before
the service answers, so a restart loses nothing: at start-up the file is replayed into the
state. One process owns the file: run the embedded store with one worker (the demo setting).
Impressions the service records itself are not logged (they would dwarf the log), so the
capping counts of the embedded store start afresh after a restart; Redis keeps them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO

import orjson

from models.events import Event, LoggedEvent, id_key, read_log, to_record
from service.live.state import CustomerState, LivePolicy, LiveSnapshot, LiveState, Recorded, Shown, feedback_field
from service.store import StoreUnavailableError

log = logging.getLogger(__name__)


class EmbeddedLiveState(LiveState):
    kind = "embedded"

    def __init__(
        self, policy: LivePolicy, log_path: Path | None, segment_of: Callable[[str], str] = lambda _c: "unknown"
    ) -> None:
        super().__init__(policy)
        self._segment_of = segment_of
        self._customers: dict[str, CustomerState] = defaultdict(CustomerState)
        self._counts: dict[str, int] = defaultdict(int)
        self._items: dict[str, dict[str, int]] = {"return": defaultdict(int), "complaint": defaultdict(int)}
        self._lock = threading.Lock()
        self._last_id = (0, -1)
        self._file: BinaryIO | None = None
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
            self._apply(logged.event, self._segment_of(logged.event.customer_id))
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
        with self._lock:
            wall_ms = max(now_ms, int(time.time() * 1000))
            logged = [LoggedEvent(self._next_id(wall_ms), e) for e in events]
            if self._file is not None:  # the log first: what was answered 202 is on disk
                self._file.write(b"".join(orjson.dumps(to_record(x)) + b"\n" for x in logged))
                self._file.flush()
            out = []
            for x, segment in zip(logged, segments, strict=True):
                source, section = self._apply(x.event, segment)
                out.append(Recorded(x.id, source, section))
            return out

    async def record_impressions(
        self, customer_id: str, item_ids: Sequence[str], source: str, section: str, segment: str, now_ms: int
    ) -> None:
        if not item_ids:
            return
        with self._lock:
            shown = self._customers[customer_id].shown
            for item in item_ids:
                prior = shown.get(item) or Shown(now_ms, 0, source, section)
                shown[item] = prior.impressed(now_ms, self.policy.cap_window_ms, source, section)
            self._counts[feedback_field("impression", source, section, segment)] += len(item_ids)

    async def snapshot(self, customer_id: str, now_ms: int) -> LiveSnapshot:
        with self._lock:
            state = self._customers.get(customer_id)
            return state.snapshot(now_ms) if state else LiveSnapshot()

    async def claim_contact(self, customer_id: str, now_ms: int, min_interval_ms: int) -> int | None:
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

    async def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
