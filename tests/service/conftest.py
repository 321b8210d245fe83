"""Fixtures of the service tests: a private copy of the trained artifacts (for tests that add
versions, write deny lists and event logs), a Redis server of a test's own (for tests that stop
it), and an API client over either store."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient

from models.contract.artifact import Artifact, load_artifact, resolve_version_dir
from service.app import create_app
from service.settings import Settings
from tests.support.redis_server import RedisServer
from tests.support.stores import STORES, publish_fresh
from training.publish import publish

ClientFactory = Callable[[Path], TestClient]


@pytest.fixture
def artifacts(trained_artifacts: Path, tmp_path: Path) -> Path:
    root = tmp_path / "artifacts"
    version = resolve_version_dir(trained_artifacts)
    shutil.copytree(version, root / version.name)
    return root


@pytest.fixture
def artifact(artifacts: Path) -> Artifact:
    return load_artifact(artifacts)


@pytest.fixture(params=STORES)
def redis_url(request: pytest.FixtureRequest, artifact: Artifact) -> str | None:
    """None (the embedded store), or the suite's Redis with `artifact` published, flushed before
    and after the test."""
    if request.param == "embedded":
        return None
    publish(artifact, request.getfixturevalue("redis_client"))
    url: str = request.getfixturevalue("redis_server").url
    return url


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A server of this test's own, so stopping it disturbs no other test."""
    workdir = tmp_path / "redis"
    workdir.mkdir()
    server = RedisServer(workdir)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module", params=STORES)
def open_client(request: pytest.FixtureRequest) -> Iterator[ClientFactory]:
    """`open_client(artifacts)` -> a started TestClient on the store this run is parametrized with
    (for Redis: the artifact published to the suite's server first)."""
    opened: list[TestClient] = []

    def factory(artifacts: Path) -> TestClient:
        settings = Settings(artifacts=artifacts)
        if request.param == "redis":
            url = request.getfixturevalue("redis_server").url
            publish_fresh(url, artifacts)
            settings = Settings(artifacts=artifacts, redis_url=url)
        client = TestClient(create_app(settings))
        client.__enter__()
        opened.append(client)
        return client

    yield factory
    for client in opened:
        client.__exit__(None, None, None)


@pytest.fixture
def published(artifact: Artifact, own_redis: RedisServer) -> Iterator[redis.Redis]:
    """`own_redis` with `artifact` published, and a client to look into it."""
    client = redis.Redis.from_url(own_redis.url)
    publish(artifact, client)
    yield client
    client.close()
