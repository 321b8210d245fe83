"""One Redis round trip per event-loop tick for all requests in flight.

Requests on the hot path ask for their customer's overlay view and, when their answer is not
cached, a published document. The batcher collects what every request of the current tick
wants, plus the impressions recorded since the last flush, and sends it all as one pipeline:
the impressions script, `GET` of the served version and of the erasure counter, one `MGET` of
views and one of documents. Documents are read under the version last seen; if the pipeline
shows the version has switched, those documents are read again under the new one before anyone
is answered, so an answer never mixes versions and the first request after a switch already
gets the new one.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import Counter
from collections.abc import Callable
from typing import Any, NamedTuple

from models import contract
from service.breaker import CircuitOpenError
from service.hotpath.resp import Command, RespConnection, RespError
from service.live.redis_state import IMPRESSIONS_SCRIPT, RedisLiveState
from service.live.state import Impressions
from service.metrics import Metrics
from service.store import RedisStore, StoreUnavailableError

IMPRESSIONS_SHA = hashlib.sha1(IMPRESSIONS_SCRIPT.encode()).hexdigest()

log = logging.getLogger(__name__)
IMPRESSIONS_DELAY_S = 0.005


class Read(NamedTuple):
    """What one request got: the version its document was read under, the erasure counter, the
    customer's overlay view and the document (None where absent or not asked for)."""

    version: str
    erasures: bytes | None
    view: bytes | None
    document: bytes | None


_Want = tuple[str | None, str | None, "asyncio.Future[Read]"]  # (view key, document name, answer)


class RedisBatcher:
    def __init__(self, store: RedisStore, live: RedisLiveState, now_ms: Callable[[], int],
                 metrics: Metrics | None = None) -> None:
        """Reads go through `store`'s circuit breaker, so the routes and the hot path share one
        view of Redis' health; the connection is the hot path's own (`resp`)."""
        self.store, self.live, self.metrics = store, live, metrics
        self._now_ms = now_ms
        self.connection = RespConnection(store.url, store.timeout_s)
        self.version: str | None = None
        self._wants: list[_Want] = []
        self._shown: list[tuple[Impressions, str]] = []  # with `encode_impressions` of each
        self._scheduled = False
        self._late: asyncio.TimerHandle | None = None
        self._script_loaded = False
        self._tasks: set[asyncio.Task[None]] = set()

    def read(self, customer_id: str | None, document: str | None) -> asyncio.Future[Read]:
        """The customer's overlay view (if `customer_id`) and `document` (a name from
        `models.documents`, if given), resolved when this tick's pipeline returns."""
        future: asyncio.Future[Read] = asyncio.get_running_loop().create_future()
        view_key = f"{contract.LIVE_PREFIX}{{{customer_id}}}:view" if customer_id is not None else None
        self._wants.append((view_key, document, future))
        self._schedule()
        return future

    def shown(self, impressions: Impressions, encoded: str) -> None:
        """Record impressions with the next pipeline, at the latest after `IMPRESSIONS_DELAY_S`
        (soft state: lost if Redis is down). Under load they ride along with the next tick's
        reads, so they cost no round trip of their own, and they still reach Redis before that
        tick's reads: the customer's next answer already counts them."""
        self._shown.append((impressions, encoded))
        if not self._scheduled and self._late is None:
            self._late = asyncio.get_running_loop().call_later(IMPRESSIONS_DELAY_S, self._start)

    def _schedule(self) -> None:
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._start)

    def _start(self) -> None:
        self._scheduled = False
        if self._late is not None:
            self._late.cancel()
            self._late = None
        wants, self._wants = self._wants, []
        shown, self._shown = self._shown, []
        if not wants and not shown:
            return
        task = asyncio.ensure_future(self._flush(wants, shown))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _flush(self, wants: list[_Want], shown: list[tuple[Impressions, str]]) -> None:
        try:
            reads = await self._round_trip(wants, shown)
        except StoreUnavailableError as exc:
            for *_, future in wants:
                if not future.done():
                    future.set_exception(exc)
            if shown:
                log.warning("%d answers' impressions not recorded: %s", len(shown), exc)
            return
        except Exception as exc:  # a bug, not an outage: never leave a request waiting on it
            log.exception("hot path read failed")
            for *_, future in wants:
                if not future.done():
                    future.set_exception(StoreUnavailableError(f"hot path read failed: {exc!r}"))
            return
        for (*_, future), read in zip(wants, reads, strict=True):
            if not future.done():
                future.set_result(read)

    async def _round_trip(self, wants: list[_Want], shown: list[tuple[Impressions, str]]) -> list[Read]:
        version = self.version
        views = [key for key, _, _ in wants if key is not None]
        docs = [name for _, name, _ in wants if name is not None]
        commands: list[Command] = []
        if shown:
            commands.append(self._impressions_command(shown))
        commands += [("GET", contract.CURRENT_KEY), ("GET", contract.ERASURES_KEY)]
        if views:
            commands.append(("MGET", *views))
        if docs and version is not None:
            commands.append(("MGET", *(contract.document_key(version, name) for name in docs)))
        replies = await self._execute(commands)
        if shown:
            self._impressions_done(replies.pop(0), shown)
        current, erasures = replies[0], replies[1]
        if current is None:
            raise StoreUnavailableError("no model version has been published yet")
        served = current.decode()
        self.version = served
        view_values = iter(replies[2] if views else ())
        if docs and version != served:
            keys = [contract.document_key(served, name) for name in docs]
            doc_values = iter((await self._execute([("MGET", *keys)]))[0])
        else:
            doc_values = iter(replies[-1] if docs else ())
        return [
            Read(served, erasures, next(view_values) if key is not None else None,
                 next(doc_values) if name is not None else None)
            for key, name, _ in wants
        ]

    async def _execute(self, commands: list[Command]) -> list[Any]:
        breaker = self.store.breaker
        try:
            breaker.before_call()
        except CircuitOpenError as exc:
            raise StoreUnavailableError(str(exc)) from exc
        try:
            replies = await self.connection.execute(commands)
        except (OSError, TimeoutError, ConnectionError) as exc:
            breaker.failure()
            raise StoreUnavailableError(f"redis (hot path): {exc!r}") from exc
        breaker.success()
        return replies

    def _impressions_command(self, shown: list[tuple[Impressions, str]]) -> Command:
        keys, args = self.live.impressions_call([encoded for _, encoded in shown], self._now_ms())
        if self._script_loaded:
            return ("EVALSHA", IMPRESSIONS_SHA, len(keys), *keys, *args)
        return ("EVAL", IMPRESSIONS_SCRIPT, len(keys), *keys, *args)

    def _impressions_done(self, reply: Any, shown: list[tuple[Impressions, str]]) -> None:
        if isinstance(reply, RespError):
            if "NOSCRIPT" in str(reply):  # Redis restarted: send the script itself next time
                self._script_loaded = False
                self._shown[:0] = shown
            else:
                log.warning("%d answers' impressions not recorded: %s", len(shown), reply)
            return
        self._script_loaded = True
        if self.metrics is None:
            return
        cells = Counter[tuple[str, str, str]]()
        for s, _ in shown:
            cells[(s.source, s.section, s.segment)] += len(s.item_ids)
        for (source, section, segment), n in cells.items():
            self.metrics.count_feedback("impression", source, section, segment, n)
