"""The service's view of the deny list (see `models.privacy`): forgotten customer ids, kept in
memory and recorded durably in the Redis set and the file beside the artifacts.

The in-memory set is shared by reference with the model's `Personalizer`, and every embedded
store is built without these customers, so a reload or a restart never brings one back. Other
worker processes learn of a deletion from the file (re-read by the reload watch) and from Redis.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from models import contract
from models.privacy import append_forgotten, read_forgotten
from service.store import StoreUnavailableError

log = logging.getLogger(__name__)

Guard = Callable[[Awaitable[Any]], Awaitable[Any]]


class DenyList:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.client: aioredis.Redis | None = None
        self._guard: Guard | None = None
        self.ids: set[str] = set()
        self._file_stamp: tuple[float, int] | None = None
        self._redis_count = -1

    def attach(self, client: aioredis.Redis, guard: Guard) -> None:
        """Record in (and read) the Redis set too, through the store's guard (timeouts, breaker)."""
        self.client, self._guard = client, guard

    async def load_redis(self) -> set[str]:
        """The Redis set's ids this process did not know yet (none if Redis is unreachable: the
        file's ids still apply)."""
        if self.client is None:
            return set()
        try:
            members = await self._call(self.client.smembers(contract.FORGOTTEN_KEY))
        except StoreUnavailableError as exc:
            log.warning("deny list in Redis unreadable (the file's is used): %s", exc)
            return set()
        self._redis_count = len(members)
        new = {m.decode() for m in members} - self.ids
        self.ids |= new
        return new

    async def refresh_redis(self) -> set[str]:
        """Re-read the Redis set if its size changed (a worker on another host forgot someone):
        one SCARD per poll, the members only when needed."""
        if self.client is None:
            return set()
        try:
            count = await self._call(self.client.scard(contract.FORGOTTEN_KEY))
        except StoreUnavailableError:
            return set()
        return await self.load_redis() if count != self._redis_count else set()

    def refresh_file(self) -> set[str]:
        """Re-read the file if it changed (another worker forgot someone); returns the new ids."""
        if self.path is None:
            return set()
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return set()
        stamp = (stat.st_mtime, stat.st_size)
        if stamp == self._file_stamp:
            return set()
        self._file_stamp = stamp
        new = read_forgotten(self.path) - self.ids
        self.ids |= new
        return new

    async def add(self, customer_id: str) -> None:
        """Record durably first (Redis set, then the file), so an erasure that fails half-way
        can be retried and one that answered is never undone by a reload or a training run."""
        if self.client is not None:
            await self._call(self.client.sadd(contract.FORGOTTEN_KEY, customer_id))
        if self.path is not None:
            try:
                await asyncio.to_thread(append_forgotten, self.path, [customer_id])
            except OSError as exc:
                raise StoreUnavailableError(f"deny list {self.path} not writable: {exc}") from exc
        self.ids.add(customer_id)

    def __contains__(self, customer_id: object) -> bool:
        return customer_id in self.ids

    async def _call(self, coro: Awaitable[Any]) -> Any:
        if self._guard is not None:
            return await self._guard(coro)
        return await coro
