"""How a Redis URL names a cluster: `redis+cluster://host:port[/0]` is any one node of a Redis
Cluster (the client discovers the others); `redis://` and `rediss://` are one Redis.

The one switch between both modes, read by the two client factories
(`training.redis_client.connect`, `service.storage.redis_client.connect`) and the hot path's
connection, so the service, publish, rollback, forget and `--events-from` all read it alike.
"""

from __future__ import annotations

CLUSTER_SCHEME = "redis+cluster://"


def is_cluster(url: str) -> bool:
    return url.startswith(CLUSTER_SCHEME)


def node_url(url: str) -> str:
    """The URL redis-py reads: a cluster URL's seed node as plain `redis://`, others unchanged."""
    return "redis://" + url[len(CLUSTER_SCHEME) :] if is_cluster(url) else url
