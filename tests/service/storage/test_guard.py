"""One guard for every Redis call of a service (`service.storage.guard.RedisGuard`): the offer
store, the live state, the deny list and the hot path's batcher share it, so one failure seen
by any of them makes all of them step aside at once; and what is not an outage (a watched key
that changed) neither opens the breaker nor turns into `StoreUnavailableError`."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis
from fastapi.testclient import TestClient

from models.contract.artifact import load_artifact
from service.app import create_app
from service.core.deny_list import DenyList
from service.hotpath.batcher import RedisBatcher
from service.live import LivePolicy, RedisLiveState
from service.settings import Settings
from service.storage.breaker import CircuitBreaker
from service.storage.guard import RedisGuard, StoreUnavailableError
from service.storage.stores import RedisStore
from tests.support.redis_server import RedisServer, free_port
from training.publish import publish

pytestmark = pytest.mark.redis
MARKED_DOWN = "marked down"  # the breaker's refusal: the call never reached a socket


def test_the_app_gives_every_redis_user_the_stores_guard(redis_server: RedisServer, trained_artifacts: Path) -> None:
    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    publish(load_artifact(trained_artifacts), client)
    settings = Settings(artifacts=trained_artifacts, redis_url=redis_server.url, access_log=False)
    with TestClient(create_app(settings)) as app_client:
        app = app_client.app
        serving = app.state.serving  # type: ignore[attr-defined]
        guard = serving.stores.primary.guard
        assert isinstance(guard, RedisGuard)
        assert serving.live.state.guard is guard
        assert app.state.deny_list.guard is guard  # type: ignore[attr-defined]
        assert app.hot.batcher.guard is guard  # type: ignore[attr-defined]
    client.flushdb()
    client.close()


def test_one_failure_makes_every_user_of_the_guard_step_aside() -> None:
    """Redis unreachable (nothing listens on the port): the store's call fails and opens the
    breaker; the live state, the deny list and the batcher are then refused without trying."""

    async def scenario() -> None:
        store = RedisStore(f"redis://127.0.0.1:{free_port()}", timeout_s=0.2)
        store.guard = RedisGuard(CircuitBreaker(base_s=60, jitter=lambda: 1.0))  # stays open for the test
        live = RedisLiveState(store.client, LivePolicy(), store.guard)
        deny = DenyList(None)
        deny.attach(store.client, store.guard)
        batcher = RedisBatcher(store, live, lambda: 0)
        with pytest.raises(StoreUnavailableError) as first:
            await store.active_version()
        assert MARKED_DOWN not in str(first.value)  # this one did try Redis
        for refused in (live.overlay("c1", 0), live.feedback_counts(), deny.add("c1")):
            with pytest.raises(StoreUnavailableError, match=MARKED_DOWN):
                await refused
        batch, _ = batcher.read("c1", None)
        with pytest.raises(StoreUnavailableError, match=MARKED_DOWN):
            await batch.done
        assert not await store.ping()
        batcher.connection.close()
        await store.close()

    asyncio.run(scenario())


def test_a_changed_watched_key_is_no_outage(redis_server: RedisServer) -> None:
    async def scenario() -> None:
        client = aioredis.Redis.from_url(redis_server.url)
        guard = RedisGuard()
        async with client.pipeline(transaction=True) as pipe:
            await guard(pipe.watch("mo:test:watched"))
            await client.set("mo:test:watched", "changed meanwhile")
            pipe.multi()
            pipe.set("mo:test:watched", "mine")
            with pytest.raises(aioredis.WatchError):
                await guard(pipe.execute())
        assert not guard.breaker.is_open
        assert await guard(client.get("mo:test:watched")) == b"changed meanwhile"
        await client.delete("mo:test:watched")
        await client.aclose()

    asyncio.run(scenario())
