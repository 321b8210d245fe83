"""The app under a real uvicorn, in a thread of the test process, on a free loopback port."""

from __future__ import annotations

import threading

import uvicorn

from service.app import create_app
from service.settings import Settings
from tests.support.redis_server import free_port
from tests.support.waiting import wait_until


class LiveServer:
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
        if not wait_until(lambda: self.server.started or not self.thread.is_alive(), timeout=20):
            raise RuntimeError("uvicorn did not start in 20 s")
        if not self.server.started:
            raise RuntimeError("uvicorn stopped while starting")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
