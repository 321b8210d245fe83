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

from service.store import OfferStore, StoreUnavailableError

log = logging.getLogger(__name__)


class Degradable(Protocol):
    degraded: bool


T = TypeVar("T", bound=Degradable)


@dataclass
class Stores:
    primary: OfferStore
    fallback: OfferStore | None = None
    degraded: bool = False  # last answer came from the fallback; logged on change only

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
            return result
        if self.degraded:
            log.warning("primary store is back")
            self.degraded = False
        return result

    async def close(self) -> None:
        await self.primary.close()
        if self.fallback is not None:
            await self.fallback.close()
