"""Keep answering when Redis is down: run the same domain call on the in-process fallback.

The fallback is an `EmbeddedStore` over the last good artifact the service loaded, so a
customer still gets their own list (not just best-sellers) while Redis is away; the answer is
flagged `degraded`. A whole request runs on one store, so it never mixes versions.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from service.observability.metrics import Metrics
from service.storage.stores import EmbeddedStore, OfferStore, StoreUnavailableError

log = logging.getLogger(__name__)


class Degradable(Protocol):
    degraded: bool


T = TypeVar("T", bound=Degradable)


@dataclass
class Stores:
    primary: OfferStore
    fallback: OfferStore | None = None
    degraded: bool = False  # last answer came from the fallback; logged on change only
    metrics: Metrics | None = None

    async def answer(self, compute: Callable[[OfferStore], Awaitable[T]]) -> T:
        try:
            result = await compute(self.primary)
        except StoreUnavailableError as exc:
            if self.fallback is None:
                raise
            if not self.degraded:
                log.warning("primary store unavailable, answering from the in-process fallback: %s", exc)
                self.degraded = True
            result = await compute(self.fallback)
            result.degraded = True
            self._count_degraded("fallback")
            return result
        if self.degraded:
            log.warning("primary store is back")
            self.degraded = False
        if result.degraded:  # e.g. live state unreadable: precomputed answer without it
            self._count_degraded("live_state")
        return result

    def _count_degraded(self, reason: str) -> None:
        if self.metrics is not None:
            self.metrics.degraded_answers.labels(reason).inc()

    async def forget(self, customer_id: str) -> int:
        """Remove a customer's documents from both stores (the fallback too: it would serve them
        while Redis is down). Raises `StoreUnavailableError` if the primary cannot be changed."""
        removed = await self.primary.forget(customer_id)
        if self.fallback is not None:
            removed += await self.fallback.forget(customer_id)
        return removed

    def forget_in_process(self, customer_id: str) -> None:
        """Drop a customer from the in-process copies only (another worker forgot them, and
        Redis already has)."""
        for store in (self.primary, self.fallback):
            if isinstance(store, EmbeddedStore):
                store.forget_now(customer_id)

    async def close(self) -> None:
        await self.primary.close()
        if self.fallback is not None:
            await self.fallback.close()
