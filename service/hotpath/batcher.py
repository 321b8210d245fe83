"""One Redis round trip per event-loop tick for all requests in flight.

Requests on the hot path ask for their customer's overlay view and, when their answer is not
cached, a published document. The batcher collects what every request of the current tick
wants, plus the impressions recorded since the last flush, and sends it all as one pipeline:
the impressions script, `GET` of the served version and of the erasure counter, one `MGET` of
views and one of documents. Documents are read under the version last seen; if the pipeline
shows the version has switched, those documents are read again under the new one before anyone
is answered, so an answer never mixes versions and the first request after a switch already
gets the new one. A tick's requests share one future: per request, a read costs two list
appends.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from typing import Any, NamedTuple

from models import contract
from models.contract import experiments
from models.contract.redis_url import is_cluster
from service.hotpath.cluster import ClusterConnection
from service.hotpath.resp import Command, RespConnection
from service.live.impressions import Encoded, MissingScriptError
from service.live.redis_state import RedisLiveState
from service.live.state import Impressions
from service.observability.metrics import Metrics
from service.storage.experiments import Exposure, exposure_commands
from service.storage.stores import RedisStore, StoreUnavailableError

log = logging.getLogger(__name__)
IMPRESSIONS_DELAY_S = 0.005


class Read(NamedTuple):
    """What one request got: the version its document was read under, the erasure counter, the
    customer's overlay view and the document (None where absent or not asked for), and the
    running experiment's definition (`models.contract.experiments.RUNNING_KEY`)."""

    version: str
    erasures: bytes | None
    view: bytes | None
    document: bytes | None
    experiment: bytes | None = None


class Batch:
    """One tick's reads. After `done` resolves: the version documents were read under, the
    erasure counter, and per request (by the index `RedisBatcher.read` gave) its view and
    document."""

    __slots__ = (
        "views",
        "docs",
        "view_at",
        "doc_at",
        "done",
        "version",
        "erasures",
        "experiment",
        "view_values",
        "doc_values",
    )

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.views: list[str] = []
        self.docs: list[str] = []
        self.view_at: list[int] = []  # per request: its position in views, or -1
        self.doc_at: list[int] = []
        self.done: asyncio.Future[None] = loop.create_future()
        self.version = ""
        self.erasures: bytes | None = None
        self.experiment: bytes | None = None
        self.view_values: list[bytes | None] = []
        self.doc_values: list[bytes | None] = []

    def read(self, n: int) -> Read:
        """Request `n`'s part (after `done`)."""
        view_at, doc_at = self.view_at[n], self.doc_at[n]
        return Read(
            self.version,
            self.erasures,
            self.view_values[view_at] if view_at >= 0 else None,
            self.doc_values[doc_at] if doc_at >= 0 else None,
            self.experiment,
        )


def hot_path_connection(url: str, timeout_s: float) -> RespConnection | ClusterConnection:
    """A connection of the hot path's own: to the one Redis, or to every primary of a cluster."""
    return ClusterConnection(url, timeout_s) if is_cluster(url) else RespConnection(url, timeout_s)


class RedisBatcher:
    def __init__(
        self, store: RedisStore, live: RedisLiveState, now_ms: Callable[[], int], metrics: Metrics | None = None
    ) -> None:
        """Every round trip goes through `store`'s guard, so the routes and the hot path share
        one view of Redis' health; impressions are written by the live state's writer, so they
        leave what the routes' would; the connection is the hot path's own (`resp`)."""
        self.guard, self.writer, self.metrics = store.guard, live.impressions, metrics
        self._now_ms = now_ms
        self.connection = hot_path_connection(store.url, store.timeout_s)
        self.version: str | None = None
        self._batch: Batch | None = None
        self._shown: list[Encoded] = []
        self._again: list[Command] = []  # impressions scripts a Redis without the script refused
        self._exposed: list[Exposure] = []
        self._late: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def read(self, customer_id: str | None, document: str | None) -> tuple[Batch, int]:
        """Ask for the customer's overlay view (if `customer_id`) and `document` (a name from
        `models.contract.documents`, if given) with this tick's pipeline; await `batch.done`, then read
        them with the index."""
        batch = self._batch
        if batch is None:
            loop = asyncio.get_running_loop()
            batch = self._batch = Batch(loop)
            loop.call_soon(self._start)
        if customer_id is None:
            batch.view_at.append(-1)
        else:
            batch.view_at.append(len(batch.views))
            batch.views.append(contract.LIVE_KEY % (customer_id, "view"))
        if document is None:
            batch.doc_at.append(-1)
        else:
            batch.doc_at.append(len(batch.docs))
            batch.docs.append(document)
        return batch, len(batch.view_at) - 1

    def shown(self, impressions: Impressions, encoded: str) -> None:
        """Record impressions with the next pipeline, at the latest after `IMPRESSIONS_DELAY_S`
        (soft state: lost if Redis is down). Under load they ride along with the next tick's
        reads, so they cost no round trip of their own, and they still reach Redis before that
        tick's reads: the customer's next answer already counts them."""
        self._shown.append((impressions, encoded))
        if self._batch is None and self._late is None:
            self._late = asyncio.get_running_loop().call_later(IMPRESSIONS_DELAY_S, self._start)

    def exposed(self, exposure: Exposure) -> None:
        """Record an experiment exposure with the next pipeline (sent with the impressions)."""
        self._exposed.append(exposure)

    def _start(self) -> None:
        if self._late is not None:
            self._late.cancel()
            self._late = None
        batch, self._batch = self._batch, None
        shown, self._shown = self._shown, []
        if batch is None and not shown and not self._again:
            return
        task = asyncio.ensure_future(self._flush(batch, shown))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _flush(self, batch: Batch | None, shown: list[Encoded]) -> None:
        try:
            await self._round_trip(batch, shown)
        except StoreUnavailableError as exc:
            if batch is not None:
                batch.done.set_exception(exc)
            if shown:
                log.warning("%d answers' impressions not recorded: %s", len(shown), exc)
            return
        except Exception as exc:  # a bug, not an outage: never leave a request waiting on it
            log.exception("hot path read failed")
            if batch is not None:
                batch.done.set_exception(StoreUnavailableError(f"hot path read failed: {exc!r}"))
            return
        if batch is not None:
            batch.done.set_result(None)

    async def _round_trip(self, batch: Batch | None, shown: list[Encoded]) -> None:
        version = self.version
        exposed, self._exposed = self._exposed, []
        commands, self._again = self._again, []
        if shown:
            commands += self.writer.commands(shown, self._now_ms(), self.connection.node_of)
        n_impressions = len(commands)
        commands += exposure_commands(exposed)
        n_writes = len(commands)
        commands += [("GET", contract.CURRENT_KEY), ("GET", contract.ERASURES_KEY), ("GET", experiments.RUNNING_KEY)]
        views = batch.views if batch is not None else []
        docs = batch.docs if batch is not None else []
        if views:
            commands.append(("MGET", *views))
        if docs and version is not None:
            commands.append(("MGET", *(contract.document_key(version, name) for name in docs)))
        replies = await self.guard(self.connection.execute(commands))
        if n_impressions:
            self._impressions_done(commands[:n_impressions], replies[:n_impressions], shown)
        if exposed and any(isinstance(reply, Exception) for reply in replies[n_impressions:n_writes]):
            log.warning("%d experiment exposures not recorded", len(exposed))
        del replies[:n_writes]
        current, erasures, experiment = replies[0], replies[1], replies[2]
        if current is None:
            raise StoreUnavailableError("no model version has been published yet")
        served = current.decode()
        self.version = served
        if batch is None:
            return
        batch.version, batch.erasures, batch.experiment = served, erasures, experiment
        batch.view_values = replies[3] if views else []
        if docs and version != served:
            keys = [contract.document_key(served, name) for name in docs]
            batch.doc_values = (await self.guard(self.connection.execute([("MGET", *keys)])))[0]
        elif docs:
            batch.doc_values = replies[-1]

    def _impressions_done(self, commands: list[Command], replies: list[Any], shown: list[Encoded]) -> None:
        error = self.writer.settle(commands, replies)
        if isinstance(error, MissingScriptError):  # Redis restarted: the script calls again, with its source
            self._again += self.writer.again(commands, replies)
            if self._batch is None and self._late is None:  # sent again even if no request comes
                self._late = asyncio.get_running_loop().call_later(IMPRESSIONS_DELAY_S, self._start)
        elif error is not None:
            log.warning("%d answers' impressions not recorded: %s", len(shown), error)
            return
        if self.metrics is None:
            return
        cells = Counter[tuple[str, str, str]]()
        for s, _ in shown:
            cells[(s.source, s.section, s.segment)] += len(s.item_ids)
        for (source, section, segment), n in cells.items():
            self.metrics.count_feedback("impression", source, section, segment, n)
