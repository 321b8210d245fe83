"""The suite's real Redis Cluster (`benchmarks.redis_cluster`, the benchmark's too), with the
suite's checks: it fails the test run when the binaries are missing, and its URL may only be
read by a test carrying the `redis` marker (`tests.support.markers`)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from benchmarks.redis_cluster import RedisClusterProcesses as Processes
from tests.support import markers

__all__ = ["RedisClusterProcesses"]


class RedisClusterProcesses(Processes):
    def __init__(self, workdir: Path) -> None:
        if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
            pytest.fail("redis-server and redis-cli are not installed: run `make test`, which installs them")
        super().__init__(workdir)

    @property
    def url(self) -> str:
        markers.require("redis")
        return super().url
