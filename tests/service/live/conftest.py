"""Fixtures of the real-time feedback tests: a clock the test moves, and the app over both stores
(embedded with its JSONL log, and a real Redis), which a test can stop and start again."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from models.contract.artifact import Artifact, load_artifact
from service.app import create_app
from service.settings import Settings
from tests.support.clocks import FixedClock
from tests.support.keys import API_KEY
from tests.support.live import AppFactory
from tests.support.stores import STORES, publish_fresh


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture(scope="module")
def artifact(trained_artifacts: Path) -> Artifact:
    return load_artifact(trained_artifacts)


@pytest.fixture(params=STORES)
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(store_kind: str, request: pytest.FixtureRequest, trained_artifacts: Path, tmp_path: Path) -> Settings:
    """Small limits so tests reach them quickly."""
    redis_url = None
    if store_kind == "redis":
        redis_url = request.getfixturevalue("redis_server").url
        publish_fresh(redis_url, trained_artifacts)
    return Settings(
        artifacts=trained_artifacts,
        redis_url=redis_url,
        api_key=API_KEY,
        events_log=tmp_path / "events" / "events.jsonl",
        events_max_batch=50,
        cap_window_s=3600,
        dismiss_suppress_s=600,
        min_contact_interval_s=86_400,
        cap_impressions=1000,  # capping off unless a test turns it on: every GET counts as an impression
    )


@pytest.fixture
def make_client(settings: Settings, clock: FixedClock) -> AppFactory:
    """A fresh app (lifespan and all) per call: closing one and making another is a restart."""

    def make(**overrides: object) -> AbstractContextManager[TestClient]:
        merged = Settings(**{**settings.model_dump(), **overrides}) if overrides else settings
        return TestClient(create_app(merged, clock=clock))

    return make


@pytest.fixture
def client(make_client: AppFactory) -> Iterator[TestClient]:
    with make_client() as c:
        yield c
