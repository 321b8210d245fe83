"""Fixtures of the reliability and privacy tests: a private copy of the trained artifacts (these
tests add versions, write deny lists and event logs), and Redis servers of their own when a test
stops one."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from models.contract.artifact import Artifact, load_artifact, resolve_version_dir
from tests.conftest import RedisServer
from training.publish import publish


@pytest.fixture
def artifacts(trained_artifacts: Path, tmp_path: Path) -> Path:
    root = tmp_path / "artifacts"
    version = resolve_version_dir(trained_artifacts)
    shutil.copytree(version, root / version.name)
    return root


@pytest.fixture
def artifact(artifacts: Path) -> Artifact:
    return load_artifact(artifacts)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A server of this test's own, so stopping it disturbs no other test."""
    workdir = tmp_path / "redis"
    workdir.mkdir()
    server = RedisServer(workdir)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def published(artifact: Artifact, own_redis: RedisServer) -> Iterator[redis.Redis]:
    """`own_redis` with `artifact` published, and a client to look into it."""
    client = redis.Redis.from_url(own_redis.url)
    publish(artifact, client)
    yield client
    client.close()
