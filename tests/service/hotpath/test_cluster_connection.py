"""The hot path's cluster connection (`service.hotpath.cluster`) against the suite's real cluster:
one tick's pipeline over keys of every shard comes back in the order it was sent, an `MGET`
across slots reassembled, and a slot map gone stale (a key's slot moved to another primary) is
read again on the `MOVED` reply, without the caller seeing it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
import redis
from redis.crc import key_slot

from service.hotpath.cluster import ClusterConnection
from tests.support.redis_cluster import RedisClusterProcesses
from training import redis_client

pytestmark = pytest.mark.redis

KEYS = [f"mo:live:{{c{n}}}:view" for n in range(40)]


@pytest.fixture
def cluster(redis_cluster: RedisClusterProcesses) -> Iterator[redis.Redis]:
    redis_cluster.flush()
    client = redis_client.connect(redis_cluster.url)
    for n, key in enumerate(KEYS[::2]):
        client.set(key, f"v{n}")
    yield client
    client.close()
    redis_cluster.flush()


def test_a_tick_over_every_shard_comes_back_in_order(
    redis_cluster: RedisClusterProcesses, cluster: redis.Redis
) -> None:
    assert len({redis_cluster.primary_of(k) for k in KEYS}) == 3  # the keys span every primary
    commands = [("GET", KEYS[0]), ("MGET", *KEYS), ("GET", KEYS[1]), ("HINCRBY", "mo:{events}:feedback:counts", "x", 2)]

    async def tick() -> list[object]:
        connection = ClusterConnection(redis_cluster.url, 2.0)
        try:
            return await connection.execute(commands)
        finally:
            connection.close()

    replies = asyncio.run(tick())
    expected = [cluster.get(k) for k in KEYS]
    assert replies == [expected[0], expected, None, 2]


def test_a_stale_slot_map_is_read_again_on_moved(redis_cluster: RedisClusterProcesses, cluster: redis.Redis) -> None:
    async def tick() -> list[object]:
        connection = ClusterConnection(redis_cluster.url, 2.0)
        try:
            await connection.refresh()
            right = connection.owners[key_slot(KEYS[0].encode())]
            wrong = next(o for o in set(connection.owners) if o != right)
            connection.owners = [wrong] * len(connection.owners)  # every slot sent to one primary
            return await connection.execute([("MGET", *KEYS), ("GET", KEYS[2])])
        finally:
            connection.close()

    replies = asyncio.run(tick())
    assert replies == [[cluster.get(k) for k in KEYS], cluster.get(KEYS[2])]
