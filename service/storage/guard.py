"""The one policy for calling Redis, shared by everything that talks to it.

The offer store, the live state, the deny list and the hot path's own connection all reach the
same Redis; if each judged its health alone, one would keep timing out while another already
knows Redis is down. So every call goes through one `RedisGuard` per Redis: its circuit breaker
decides whether the call is tried at all, and any Redis or socket error opens the breaker and
becomes `StoreUnavailableError`, the one error the request paths know how to answer (the
fallback store, the routes instead of the hot path, a logged impression loss).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import redis.asyncio as aioredis

from service.storage.breaker import CircuitBreaker, CircuitOpenError

REDIS_ERRORS = (aioredis.RedisError, OSError)  # OSError covers time-outs and dropped sockets


class StoreUnavailableError(RuntimeError):
    """The store could not be read (down, slow, or holds no published version)."""


class RedisGuard:
    """Await a Redis call behind the breaker: `await guard(client.get(key))`."""

    def __init__(self, breaker: CircuitBreaker | None = None) -> None:
        self.breaker = breaker or CircuitBreaker()

    async def __call__(self, call: Awaitable[Any]) -> Any:  # Any: as redis-py replies
        try:
            self.breaker.before_call()
        except CircuitOpenError as exc:
            close = getattr(call, "close", None)  # a coroutine never awaited would warn
            if close is not None:
                close()
            raise StoreUnavailableError(str(exc)) from exc
        try:
            result = await call
        except aioredis.WatchError:
            self.breaker.success()  # Redis answered: a watched key changed, the caller retries
            raise
        except REDIS_ERRORS as exc:
            self.breaker.failure()
            raise StoreUnavailableError(f"redis: {exc!r}") from exc
        self.breaker.success()
        return result
