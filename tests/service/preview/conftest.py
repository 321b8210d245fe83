"""Fixtures of the marketers' preview tests: an HTTP client with a key configured, a real uvicorn
server on a loopback port and a headless Chromium for the browser tests."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, sync_playwright

from service.app import create_app
from tests.support.apps import settings_for
from tests.support.paths import SCREENSHOTS
from tests.support.servers import LiveServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


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
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is not installed: run `make test`, which installs Debian's chromium")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()
