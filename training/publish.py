"""Publish an artifact into Redis: write a new version namespace, then switch to it atomically.

Order matters for crash safety: the customer lists, popularity, catalog and manifest are
written first (pipelined, in chunks), customers on the deny list (`mo:{ctl}:forgotten`, see
`models.rules.privacy`) are taken out again, then a `complete` marker, and only then the one atomic
switch of `mo:{ctl}:current`. A publish killed at any point before the switch leaves the previous
version serving; the next publish removes half-written namespaces it finds. The version
before the new one stays as `mo:{ctl}:previous` for `rollback`; older ones expire.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import cast

import redis
from redis.cluster import ClusterNode, RedisCluster
from redis.crc import key_slot

from models import contract
from models.contract import experiments
from models.contract.artifact import Artifact
from models.contract.documents import customer_documents, is_customer_doc, personal_documents, shared_documents
from models.contract.experiments import Experiment
from models.contract.store_documents import segment_doc, segment_without_customer
from training.redis_client import is_cluster_client

log = logging.getLogger(__name__)

PENDING_KEY = contract.PENDING_KEY
OLD_VERSION_TTL_S = 24 * 3600
MSET_KEYS = 256
WORKER_RANGE = 50_000  # customers per task handed to a worker process

_SWITCH = """
if redis.call('EXISTS', KEYS[3]) == 0 then return redis.error_reply('version is not complete') end
local prev = redis.call('GET', KEYS[1])
if prev and prev ~= ARGV[1] then redis.call('SET', KEYS[2], prev) end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('LREM', KEYS[4], 0, ARGV[1])
redis.call('LPUSH', KEYS[4], ARGV[1])
redis.call('SREM', KEYS[5], ARGV[1])
return prev
"""

_ROLLBACK = """
local prev = redis.call('GET', KEYS[2])
if not prev then return redis.error_reply('no previous version to roll back to') end
local complete = ARGV[1] .. prev .. ARGV[2]
if redis.call('EXISTS', complete) == 0 then return redis.error_reply('previous version ' .. prev .. ' is gone') end
local cur = redis.call('GET', KEYS[1])
redis.call('SET', KEYS[1], prev)
if cur then redis.call('SET', KEYS[2], cur) end
return prev
"""


@dataclass
class PublishReport:
    version: str
    customers: int
    seconds: float
    previous: str | None

    @property
    def customers_per_second(self) -> float:
        return self.customers / self.seconds if self.seconds else float("inf")


def publish(
    artifact: Artifact,
    client: redis.Redis,
    chunk_size: int = 4096,
    progress: Callable[[int, int], None] | None = None,
    workers: int = 1,
    forgotten: Collection[str] = (),
    ranges: Sequence[tuple[int, int]] | None = None,
) -> PublishReport:
    """Write every document of `artifact` under its version, then switch to it. With
    `workers` > 1, forked processes encode and write disjoint ranges of customers (encoding is
    the CPU cost; they share the loaded artifact's memory). `forgotten`: deny-list ids known
    outside Redis (the file beside the artifacts, see `models.rules.privacy`): added to the Redis set
    first, so the set is the union of both, and left out of this version like every id in it.
    `ranges`: the customer row ranges the workers take (`training.publish_partitions`)."""
    start = time.perf_counter()
    version = artifact.version
    if forgotten:
        client.sadd(contract.FORGOTTEN_KEY, *sorted(forgotten))
    cleanup_half_written(client, keep=version)
    client.sadd(PENDING_KEY, version)
    n = len(artifact.customers)
    if workers > 1:
        written = _write_in_workers(artifact, client, chunk_size, workers, ranges)
    else:
        written = _write_customers(artifact, client, range(n), chunk_size)
    for done in written:
        if progress:
            progress(done, n)
    with collector_paused():
        for _ in _write_documents(client, version, shared_documents(artifact), chunk_size):
            pass
    purge_forgotten(client, artifact)
    client.set(contract.complete_key(version), b"1")
    previous = _switch(client, version)
    expire_old_versions(client)
    report = PublishReport(version, n, time.perf_counter() - start, previous)
    log.info("published %s: %d customers in %.2fs (%.0f/s)", version, n, report.seconds, report.customers_per_second)
    return report


def _write_customers(artifact: Artifact, client: redis.Redis, customers: range, chunk_size: int) -> Iterator[int]:
    """The documents (`c:`, `store:` and `a:`) of the customers in `customers` (row numbers); yields
    how many customers are done."""
    documents = customer_documents(artifact, customers=customers, answers=True)
    with collector_paused():
        yield from _write_documents(client, artifact.version, documents, chunk_size)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while documents are made: each block of customers
    creates hundreds of thousands of small lists and tuples (freed by reference counting, no
    cycles), and every so often they trigger a full collection that walks every object the
    process holds. Measured on 100k synthetic customers: 3.67 s of CPU per 40k customers with
    the collector, 2.31 s without."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _write_documents(
    client: redis.Redis, version: str, documents: Iterable[tuple[str, bytes]], chunk_size: int
) -> Iterator[int]:
    """Pipelined writes of `documents` under `version`, `chunk_size` per round trip (shared
    documents such as similar items go through here too: there is one per item); yields how
    many customers (`c:` documents) are written so far.

    Documents go in MSETs of up to `MSET_KEYS` keys (one command instead of hundreds: about three
    times the rate of single SETs). Each MSET is small enough to keep Redis answering readers in
    between (well under a millisecond)."""
    pipe = _NodePipelines(cast(RedisCluster, client)) if is_cluster_client(client) else _OnePipeline(client)
    mset_keys = min(MSET_KEYS, chunk_size)
    batch: dict[str, bytes] = {}
    pending = customers = 0
    for name, payload in documents:
        batch[contract.document_key(version, name)] = payload
        customers += is_customer_doc(name)
        if len(batch) >= mset_keys:
            pipe.mset(batch)
            pending, batch = pending + len(batch), {}
        if pending >= chunk_size:
            pipe.execute()
            pending = 0
            yield customers
    if batch:
        pipe.mset(batch)
    pipe.execute()
    yield customers


class _OnePipeline:
    def __init__(self, client: redis.Redis) -> None:
        self.pipe = client.pipeline(transaction=False)

    def mset(self, batch: dict[str, bytes]) -> None:
        self.pipe.mset(batch)

    def execute(self) -> None:
        self.pipe.execute()


class _NodePipelines:
    """On a cluster: an MSET may only hold keys of one slot, so one per slot (a customer's `c:`
    and `store:` documents share one, a version's shared documents another), in a plain pipeline
    per primary. redis-py's cluster pipeline would route them too, at a tenth of the rate (it
    works out every command's slot and node again in Python)."""

    def __init__(self, cluster: RedisCluster) -> None:
        self.cluster = cluster
        self.pipes: dict[str, redis.client.Pipeline] = {}

    def mset(self, batch: dict[str, bytes]) -> None:
        by_slot: dict[int, dict[str, bytes]] = {}
        for key, payload in batch.items():
            by_slot.setdefault(key_slot(key.encode()), {})[key] = payload
        for slot, documents in by_slot.items():
            node = self.cluster.nodes_manager.get_node_from_slot(slot)
            pipe = self.pipes.get(node.name)
            if pipe is None:
                pipe = self.pipes[node.name] = self.cluster.get_redis_connection(node).pipeline(transaction=False)
            pipe.mset(documents)

    def execute(self) -> None:
        for pipe in self.pipes.values():
            pipe.execute()


# What forked workers inherit: (artifact, how to connect, chunk size). Set only while they run.
_FORKED: tuple[Artifact, Callable[[], redis.Redis], int] | None = None


def _write_in_workers(
    artifact: Artifact,
    client: redis.Redis,
    chunk_size: int,
    workers: int,
    ranges: Sequence[tuple[int, int]] | None = None,
) -> Iterator[int]:
    """Ranges of customers written by forked processes; yields how many customers are done."""
    global _FORKED
    n = len(artifact.customers)
    step = max(chunk_size, min(WORKER_RANGE, -(-n // workers)))
    ranges = ranges or [(start, min(start + step, n)) for start in range(0, n, step)]
    _FORKED = (artifact, partial(reconnect, client), chunk_size)
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            done = 0
            for count in pool.imap_unordered(_write_range_in_worker, ranges):
                done += count
                yield done
    finally:
        _FORKED = None


def _write_range_in_worker(bounds: tuple[int, int]) -> int:
    assert _FORKED is not None, "only runs in a worker forked by _write_in_workers"
    artifact, connect, chunk_size = _FORKED
    client = connect()  # a connection of its own, not the parent's
    try:
        for _ in _write_customers(artifact, client, range(*bounds), chunk_size):
            pass
    finally:
        client.close()
    return bounds[1] - bounds[0]


def reconnect(client: redis.Redis) -> redis.Redis:
    """A new client to the same Redis (or cluster) with the same options, sharing no socket."""
    if is_cluster_client(client):
        cluster = cast(RedisCluster, client)
        options = {k: v for k, v in cluster.nodes_manager.connection_kwargs.items() if k in ("username", "password")}
        nodes = [ClusterNode(node.host, node.port) for node in cluster.get_primaries()]
        return cast(redis.Redis, RedisCluster(startup_nodes=nodes, **options))
    pool = client.connection_pool
    return redis.Redis(
        connection_pool=redis.ConnectionPool(connection_class=pool.connection_class, **pool.connection_kwargs)
    )


def purge_forgotten(client: redis.Redis, artifact: Artifact) -> int:
    """Remove forgotten customers from the version being written: an artifact trained before
    their `DELETE` still has them. Read after every document is written, and the service's
    DELETE also cleans versions being written (`mo:{ctl}:pending`), so one racing the other is
    caught by one of the two. Returns how many documents were removed."""
    version, removed = artifact.version, 0
    markers = client.pipeline(transaction=False)  # each id's marker on its shard (contract.forgotten_marker_key)
    for raw in client.sscan_iter(contract.FORGOTTEN_KEY, count=10_000):
        customer_id = raw.decode()
        markers.set(contract.forgotten_marker_key(customer_id), b"1")
        row = artifact.customers.row(customer_id)
        if row is None:
            continue
        removed += client.delete(*(contract.document_key(version, n) for n in personal_documents(customer_id)))
        if artifact.storefront is not None:
            key = contract.document_key(version, segment_doc(int(artifact.storefront.segment_of[row])))
            client.transaction(partial(_scrub, key=key, customer_id=customer_id), key)
    markers.execute()
    if removed:
        log.info("left %d documents of forgotten customers out of %s", removed, version)
    return removed


def _scrub(pipe: redis.client.Pipeline, key: str, customer_id: str) -> None:
    raw = pipe.get(key)
    scrubbed = segment_without_customer(raw, customer_id) if raw else None
    pipe.multi()
    if scrubbed is not None:
        pipe.set(key, scrubbed, keepttl=True)


def _switch(client: redis.Redis, version: str) -> str | None:
    keys = [
        contract.CURRENT_KEY,
        contract.PREVIOUS_KEY,
        contract.complete_key(version),
        contract.VERSIONS_KEY,
        PENDING_KEY,
    ]
    prev = client.eval(_SWITCH, len(keys), *keys, version)
    return prev.decode() if isinstance(prev, bytes) else prev


def rollback(client: redis.Redis) -> str:
    """Serve the previous version again (and remember the current one as previous)."""
    prefix, suffix = contract.complete_key("\x00").split("\x00")
    prev = client.eval(_ROLLBACK, 2, contract.CURRENT_KEY, contract.PREVIOUS_KEY, prefix, suffix)
    return prev.decode() if isinstance(prev, bytes) else str(prev)


def _delete_namespace(client: redis.Redis, version: str) -> int:
    deleted = 0
    batch: list[bytes] = []
    for key in client.scan_iter(match=f"{contract.version_prefix(version)}:*", count=5000):
        batch.append(key)
        if len(batch) >= 5000:
            deleted += client.unlink(*batch)
            batch = []
    if batch:
        deleted += client.unlink(*batch)
    return deleted


def cleanup_half_written(client: redis.Redis, keep: str | None = None) -> list[str]:
    """Delete the keys of versions a killed publish left behind (never the served ones)."""
    served = {client.get(contract.CURRENT_KEY), client.get(contract.PREVIOUS_KEY)}
    removed = []
    for raw in cast(set[bytes], client.smembers(PENDING_KEY)):
        version = raw.decode()
        if version == keep or raw in served:
            continue
        n = _delete_namespace(client, version)
        client.srem(PENDING_KEY, version)
        log.warning("removed half-written version %s (%d keys)", version, n)
        removed.append(version)
    return removed


def experiment_versions(client: redis.Redis) -> set[str]:
    """The versions the running experiment serves by name (`models.contract.experiments`)."""
    raw = cast(bytes | None, client.get(experiments.RUNNING_KEY))
    return Experiment.decode(raw).versions() if raw else set()


def expire_old_versions(client: redis.Redis, keep: int = 2, ttl_s: int = OLD_VERSION_TTL_S) -> None:
    """Versions older than current and previous expire after `ttl_s` (readers that are mid-way
    through a request on them finish first); so do those a running experiment serves, once it
    has stopped, not before."""
    served = {client.get(contract.CURRENT_KEY), client.get(contract.PREVIOUS_KEY)}
    served |= {version.encode() for version in experiment_versions(client)}
    for raw in cast(list[bytes], client.lrange(contract.VERSIONS_KEY, keep, -1)):
        if raw in served:
            continue
        version = raw.decode()
        pipe = client.pipeline(transaction=False)
        for key in client.scan_iter(match=f"{contract.version_prefix(version)}:*", count=5000):
            pipe.expire(key, ttl_s, nx=True)
        pipe.execute()
        client.sadd(contract.EXPIRING_KEY, version)  # held until its keys are gone (erasures reach it)
        client.lrem(contract.VERSIONS_KEY, 0, version)
    for raw in cast(set[bytes], client.smembers(contract.EXPIRING_KEY)):
        if not client.exists(contract.complete_key(raw.decode())):
            client.srem(contract.EXPIRING_KEY, raw)
