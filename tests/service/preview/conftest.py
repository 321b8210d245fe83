"""Fixtures of the marketers' preview tests: an HTTP client with a key configured, a real uvicorn
server on a loopback port and a headless Chromium for the browser tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser

from service.app import create_app
from tests.support.apps import settings_for
from tests.support.chromium import chromium
from tests.support.servers import LiveServer


@pytest.fixture(scope="module")
def client(trained_artifacts: Path) -> Iterator[TestClient]:
    with TestClient(create_app(settings_for(trained_artifacts))) as c:
        yield c


@pytest.fixture(scope="module")
def live_server(trained_artifacts: Path) -> Iterator[LiveServer]:
    server = LiveServer(settings_for(trained_artifacts))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, driven by Playwright (the tests that use it carry the `browser` marker)."""
    with chromium() as b:
        yield b
