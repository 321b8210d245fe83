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

    async def answer(self, compute: Callable[[OfferStore], Awaitable[T]]) -> T:
        try:
            return await compute(self.primary)
        except StoreUnavailableError as exc:
            if self.fallback is None:
                raise
            log.warning("answering from the in-process fallback: %s", exc)
            result = await compute(self.fallback)
            result.degraded = True
            return result

    async def close(self) -> None:
        await self.primary.close()
        if self.fallback is not None:
            await self.fallback.close()
