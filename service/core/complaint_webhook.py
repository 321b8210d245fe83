"""Complaints and returns reach someone who can act: each accepted `complaint` or `return` event
is POSTed as JSON to a configured webhook, signed, retried with backoff, and never in the way of
the event request.

Delivery runs in a background task fed by an in-process queue: `POST /events` only enqueues
(after the event is in the durable log) and answers 202 whatever the webhook does. Each payload
is retried `retries` times after the first attempt, waiting `backoff_s`, then twice that, ...
(capped at `MAX_BACKOFF_S`); a 2xx answer delivers it. Delivery is at least once while the
process runs (a receiver that answered 2xx too late may see a payload twice: deduplicate by
`id`, the event's log id). On shutdown the queue is drained for `drain_s`; payloads still
undelivered then are logged by event id (`microoffers events export` replays them from the
durable log) and counted as `dropped`.

Signature (Stripe-style), header `X-Microoffers-Signature: t=<unix seconds>,v1=<hex>` where
`<hex>` is HMAC-SHA256 with the shared secret over `<t>.<raw body>`; `t` is the time of that
attempt, so a receiver can refuse stale deliveries (replays).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import time
from collections.abc import Callable, Sequence

import httpx
import orjson

from models.contract.events import NEGATIVE_TYPES, Event, ms_to_iso
from service import background
from service.live.state import Recorded
from service.observability.metrics import Metrics
from service.settings import Settings

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Microoffers-Signature"
MAX_BACKOFF_S = 300.0
QUEUE_SIZE = 10_000  # payloads waiting; beyond that new ones are dropped (logged, counted)


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    """The header value for `body` sent at `timestamp` (unix seconds)."""
    digest = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: bytes, header: str, body: bytes, now: float, tolerance_s: float = 300) -> bool:
    """What a receiver does: recompute, compare in constant time, refuse stale timestamps."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    expected = signature(secret, timestamp, body)
    return abs(now - timestamp) <= tolerance_s and hmac.compare_digest(expected, header)


def payload(event: Event, recorded: Recorded, segment: str) -> bytes:
    return orjson.dumps(
        {
            "id": recorded.id,
            "type": event.type,
            "customer_id": event.customer_id,
            "item_id": event.item_id,
            "timestamp": ms_to_iso(event.ts_ms),
            "quantity": event.quantity,
            "section": recorded.section,
            "segment": segment,
        }
    )


class ComplaintWebhook:
    """Queue and deliver; `notify` never blocks and never raises."""

    def __init__(
        self,
        url: str,
        secret: bytes,
        metrics: Metrics,
        retries: int = 5,
        backoff_s: float = 1.0,
        timeout_s: float = 5.0,
        drain_s: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url, self.secret, self.metrics = url, secret, metrics
        self.retries, self.backoff_s, self.timeout_s, self.drain_s = retries, backoff_s, timeout_s, drain_s
        self.clock = clock
        self.queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue(QUEUE_SIZE)
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None

    def notify(self, events: Sequence[Event], recorded: Sequence[Recorded], segment_of: Callable[[str], str]) -> None:
        for event, logged in zip(events, recorded, strict=True):
            if event.type not in NEGATIVE_TYPES:
                continue
            try:
                self.queue.put_nowait((logged.id, payload(event, logged, segment_of(event.customer_id))))
            except asyncio.QueueFull:
                self.metrics.complaint_webhook.labels("dropped").inc()
                log.error("complaint webhook queue full: event %s not sent (replay it from the event log)", logged.id)

    async def start(self) -> None:
        self._client = httpx.AsyncClient(timeout=self.timeout_s)
        self._task = asyncio.create_task(self._run())

    async def close(self) -> None:
        """Drain for `drain_s`, then stop; what is left is logged by event id."""
        if self._task is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.queue.join(), self.drain_s)
        await background.stop(self._task)
        left = [self.queue.get_nowait()[0] for _ in range(self.queue.qsize())]
        if left:
            self.metrics.complaint_webhook.labels("dropped").inc(len(left))
            log.warning("complaint webhook: %d events not delivered at shutdown: %s", len(left), ", ".join(left))
        if self._client is not None:
            await self._client.aclose()

    async def _run(self) -> None:
        while True:
            event_id, body = await self.queue.get()
            try:
                await self._deliver(event_id, body)
            finally:
                self.queue.task_done()

    async def _deliver(self, event_id: str, body: bytes) -> None:
        assert self._client is not None
        for attempt in range(self.retries + 1):
            if attempt:
                self.metrics.complaint_webhook.labels("retried").inc()
                await asyncio.sleep(min(self.backoff_s * 2 ** (attempt - 1), MAX_BACKOFF_S))
            headers = {
                "Content-Type": "application/json",
                SIGNATURE_HEADER: signature(self.secret, int(self.clock()), body),
            }
            try:
                answer = await self._client.post(self.url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                problem = repr(exc)
            else:
                if answer.is_success:
                    self.metrics.complaint_webhook.labels("delivered").inc()
                    return
                problem = f"HTTP {answer.status_code}"
            log.warning("complaint webhook attempt %d for event %s failed: %s", attempt + 1, event_id, problem)
        self.metrics.complaint_webhook.labels("failed").inc()
        log.error("complaint webhook gave up on event %s after %d attempts", event_id, self.retries + 1)


def open_complaint_webhook(settings: Settings, metrics: Metrics) -> ComplaintWebhook | None:
    """The configured webhook, or None (`MICROOFFERS_COMPLAINT_WEBHOOK_URL` unset)."""
    if settings.complaint_webhook_url is None or settings.complaint_webhook_secret is None:
        return None
    return ComplaintWebhook(
        settings.complaint_webhook_url,
        settings.complaint_webhook_secret.get_secret_value().encode(),
        metrics,
        settings.complaint_webhook_retries,
        settings.complaint_webhook_backoff_s,
        settings.complaint_webhook_timeout_s,
        settings.complaint_webhook_drain_s,
    )
