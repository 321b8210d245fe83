"""Fixtures of the marketers' preview tests: an HTTP client with a key configured, and a real
uvicorn server on a loopback port for the browser tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient

from service.app import create_app
from service.settings import Settings
from tests.conftest import ROOT, free_port

API_KEY = "preview-test-key"
AUTH = ("marketer", API_KEY)
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"


def preview_settings(artifacts: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {"artifacts": artifacts, "api_key": API_KEY, "access_log": False, **overrides}
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def client(trained_artifacts: Path) -> Iterator[TestClient]:
    with TestClient(create_app(preview_settings(trained_artifacts))) as c:
        yield c


class LiveServer:
    """The app under uvicorn in a thread, on a free loopback port."""

    def __init__(self, settings: Settings) -> None:
        self.port = free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(create_app(settings), host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="module")
def live_server(trained_artifacts: Path) -> Iterator[LiveServer]:
    server = LiveServer(preview_settings(trained_artifacts))
    server.start()
    yield server
    server.stop()
