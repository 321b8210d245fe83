"""Shared fixtures: a real redis-server the suite starts and stops itself, a small real data slice,
and one trained artifact reused by the tests that only read it."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
import redis

from benchmarks.harness import RedisProcess, free_port  # noqa: F401  (free_port: imported from here by the tests)

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "data" / "online_retail_ii_2009_2010.parquet"
SHARED_DATA = ROOT.parent / "shared" / "data"


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll `predicate` until it holds (True) or `timeout` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


class RedisServer(RedisProcess):
    """A real `redis-server` on a free loopback port, in its own temp dir; can be stopped and
    restarted on the same port (fault tests do)."""

    def __init__(self, workdir: Path) -> None:
        if shutil.which("redis-server") is None:
            pytest.fail("redis-server is not installed: run `make test`, which installs it")
        super().__init__(maxmemory=None, workdir=workdir, extra_args=("--enable-debug-command", "local"))


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    """A clean database for each test."""
    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture(scope="session")
def retail_slice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real purchases of ~400 customers from the bundled Online Retail II year, as a small file."""
    frame = pd.read_parquet(BUNDLED)
    customers = frame["Customer ID"].dropna().drop_duplicates().sort_values().iloc[:400]
    part = frame[frame["Customer ID"].isin(customers)]
    path = tmp_path_factory.mktemp("data") / "retail_slice.parquet"
    part.to_parquet(path, index=False)
    return path


@pytest.fixture(scope="session")
def trained_artifacts(retail_slice: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from training.pipeline import TrainInputs, train

    out = tmp_path_factory.mktemp("artifacts")
    train(TrainInputs(retail_slice, "online-retail"), out)
    return out
