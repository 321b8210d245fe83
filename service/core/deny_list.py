"""The service's view of the deny list (see `models.rules.privacy`): forgotten customer ids, kept in
memory and recorded durably in the Redis set and the file beside the artifacts. Each id also
gets a marker key on its own shard (`models.contract.forgotten_marker_key`), which the live
state's scripts check in the same step as their writes.

The in-memory set is shared by reference with the model's `Personalizer`, and every embedded
store is built without these customers, so a reload or a restart never brings one back. Other
worker processes learn of a deletion from the file (re-read by the reload watch) and from Redis.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import redis.asyncio as aioredis

from models import contract
from models.rules.privacy import append_forgotten, read_forgotten, remove_forgotten
from service.storage.guard import RedisGuard, StoreUnavailableError

log = logging.getLogger(__name__)


class CustomerForgottenError(Exception):
    """A write about a customer on the deny list (an event, a contact): refused, never stored.
    `fields` name where the id was given (e.g. `events.3.customer_id`)."""

    def __init__(self, customer_ids: list[str], fields: list[str] | None = None) -> None:
        self.customer_ids, self.fields = customer_ids, fields or ["customer_id"] * len(customer_ids)
        shown = ", ".join(customer_ids[:5])
        super().__init__(
            f"customer {shown} was forgotten (DELETE /customers/{{id}}): nothing about them is recorded; "
            "if they came back and agreed, restore them first with POST /customers/{id}/restore"
        )


class DenyList:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.client: aioredis.Redis | None = None
        self.guard = RedisGuard()  # replaced by the store's in `attach`
        self.ids: set[str] = set()  # shared by reference (personalizer, live context): changed in place
        self._file_ids: set[str] = set()
        self._redis_ids: set[str] = set()
        self._file_stamp: tuple[float, int] | None = None
        self._redis_count = -1

    def attach(self, client: aioredis.Redis, guard: RedisGuard) -> None:
        """Record in (and read) the Redis set too, through the store's guard (timeouts, breaker)."""
        self.client, self.guard = client, guard

    async def load_redis(self) -> set[str]:
        """The Redis set's ids this process did not know yet (none if Redis is unreachable: the
        file's ids still apply)."""
        if self.client is None:
            return set()
        try:
            members = await self.guard(self.client.smembers(contract.FORGOTTEN_KEY))
        except StoreUnavailableError as exc:
            log.warning("deny list in Redis unreadable (the file's is used): %s", exc)
            return set()
        self._redis_count = len(members)
        self._redis_ids = {m.decode() for m in members}
        return self._merge()

    async def refresh_redis(self) -> set[str]:
        """Re-read the Redis set if its size changed (a worker on another host forgot someone):
        one SCARD per poll, the members only when needed."""
        if self.client is None:
            return set()
        try:
            count = await self.guard(self.client.scard(contract.FORGOTTEN_KEY))
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
        self._file_ids = read_forgotten(self.path)
        return self._merge()

    def _merge(self) -> set[str]:
        """`ids` becomes file ∪ Redis set, in place (a restore elsewhere takes an id off);
        returns the ids that are new here."""
        target = self._file_ids | self._redis_ids
        new = target - self.ids
        self.ids.intersection_update(target)
        self.ids |= new
        return new

    async def add(self, customer_id: str) -> None:
        """Record durably first (Redis set, then the file), so an erasure that fails half-way
        can be retried and one that answered is never undone by a reload or a training run."""
        if self.client is not None:  # the set first: a batch of events that watches it is aborted
            await self.guard(self.client.sadd(contract.FORGOTTEN_KEY, customer_id))
            await self.guard(self.client.set(contract.forgotten_marker_key(customer_id), b"1"))
        if self.path is not None:
            try:
                await asyncio.to_thread(append_forgotten, self.path, [customer_id])
            except OSError as exc:
                raise StoreUnavailableError(f"deny list {self.path} not writable: {exc}") from exc
        self._file_ids.add(customer_id)
        self._redis_ids.add(customer_id)
        self.ids.add(customer_id)

    async def remove(self, customer_id: str) -> bool:
        """Take the id off the deny list everywhere (an explicit restore); True if it was on it.
        Other workers follow when they next read the file or the set (the reload watch)."""
        was = customer_id in self.ids
        if self.client is not None:
            await self.guard(self.client.delete(contract.forgotten_marker_key(customer_id)))
            was = bool(await self.guard(self.client.srem(contract.FORGOTTEN_KEY, customer_id))) or was
        if self.path is not None:
            try:
                was = bool(await asyncio.to_thread(remove_forgotten, self.path, [customer_id])) or was
            except OSError as exc:
                raise StoreUnavailableError(f"deny list {self.path} not writable: {exc}") from exc
        self._file_ids.discard(customer_id)
        self._redis_ids.discard(customer_id)
        self.ids.discard(customer_id)
        return was

    def __contains__(self, customer_id: object) -> bool:
        return customer_id in self.ids
