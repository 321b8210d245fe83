"""The suite's real `redis-server`: the benchmarks' `RedisProcess` on a free loopback port, in a
directory of its own, with DEBUG enabled (fault tests make it sleep); it can be stopped and
started again on the same port."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from benchmarks.harness import RedisProcess, free_port
from tests.support import markers

__all__ = ["RedisServer", "free_port"]


class RedisServer(RedisProcess):
    def __init__(self, workdir: Path) -> None:
        if shutil.which("redis-server") is None:
            pytest.fail("redis-server is not installed: run `make test`, which installs it")
        super().__init__(maxmemory=None, workdir=workdir, extra_args=("--enable-debug-command", "local"))

    @property
    def url(self) -> str:
        markers.require("redis")  # every client, app or CLI run reaches the server through this
        return super().url
