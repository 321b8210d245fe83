"""The one place the training side (publish, rollback, forget, `--events-from`) opens Redis:
one Redis or a cluster, as the URL says (`models.contract.redis_url`).

The cluster client is typed as `redis.Redis`: the commands used here have the same names and
replies on both (redis-py splits multi-key commands and pipelines per node on a cluster), so
callers need not know which one they hold; `is_cluster_client` tells the few that do.
"""

from __future__ import annotations

from typing import Any, cast

import redis
from redis.cluster import RedisCluster

from models.contract.redis_url import is_cluster, node_url


def connect(url: str, **options: Any) -> redis.Redis:
    if is_cluster(url):
        return cast(redis.Redis, RedisCluster.from_url(node_url(url), **options))
    return redis.Redis.from_url(url, **options)


def is_cluster_client(client: object) -> bool:
    return isinstance(client, RedisCluster)
