"""Shared fixtures: a real redis-server the suite starts and stops itself, a small real data slice,
and one trained artifact reused by the tests that only read it; and the check that a test using
Redis or Chromium carries the marker that says so (`tests.support.markers`).

Helpers are imported from `tests.support`, never from a conftest."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import redis

from tests.support import markers
from tests.support.paths import BUNDLED
from tests.support.redis_cluster import RedisClusterProcesses
from tests.support.redis_server import RedisServer


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    problems = [f"{item.nodeid}: add @pytest.mark.{name}" for item in items for name in markers.missing(item)]
    if problems:
        raise pytest.UsageError(
            "tests that use Redis or Chromium fixtures must carry the marker:\n  " + "\n  ".join(problems)
        )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    with markers.running(item):
        return (yield)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterProcesses]:
    """A real Redis Cluster (3 primaries, 3 replicas), one per session: forming one takes seconds."""
    cluster = RedisClusterProcesses(tmp_path_factory.mktemp("redis-cluster"))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


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
