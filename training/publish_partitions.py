"""Publish an artifact written in partitions (`lists-00000.npz`, ... : the Spark engine's) with
the partitions written in parallel.

The documents and their order are `training.publish`'s; only the ranges its worker processes
take change: each worker task lies inside one partition (at most `WORKER_RANGE` customers of
it), so on a cluster's shared storage one worker reads and writes one partition's customers.
A one-partition artifact (today's `lists.npz`) gets `training.publish`'s own ranges.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

import redis

from models.contract.artifact import Artifact, list_partitions
from training.publish import WORKER_RANGE, PublishReport, publish


def partition_ranges(artifact: Artifact, step: int = WORKER_RANGE) -> list[tuple[int, int]]:
    """Customer row ranges of at most `step`, none crossing a partition boundary."""
    out: list[tuple[int, int]] = []
    for start, stop in list_partitions(artifact.manifest, len(artifact.customers)):
        out.extend((s, min(s + step, stop)) for s in range(start, stop, step))
    return out


def publish_artifact(
    artifact: Artifact,
    client: redis.Redis,
    chunk_size: int = 4096,
    progress: Callable[[int, int], None] | None = None,
    workers: int = 1,
    forgotten: Collection[str] = (),
) -> PublishReport:
    """`training.publish.publish`, partitions in parallel when the artifact has several."""
    partitioned = len(list_partitions(artifact.manifest, len(artifact.customers))) > 1
    ranges = partition_ranges(artifact) if partitioned else None
    return publish(artifact, client, chunk_size, progress, workers, forgotten, ranges=ranges)
