"""The one place the service opens its asyncio Redis client: one Redis or a cluster, as the URL
says (`models.contract.redis_url`). The cluster client is typed as `aioredis.Redis`: every
command the service sends has the same name and reply on both (a customer's keys share a hash
tag, the control keys `{ctl}`, so no command or script spans slots)."""

from __future__ import annotations

from typing import Any, cast

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster

from models.contract.redis_url import is_cluster, node_url


def connect(url: str, **options: Any) -> aioredis.Redis:
    if is_cluster(url):
        return cast(aioredis.Redis, RedisCluster.from_url(node_url(url), **options))
    return aioredis.Redis.from_url(url, **options)


def is_cluster_client(client: object) -> bool:
    return isinstance(client, RedisCluster)
