"""The real app behind a test-only delay, for the graceful-shutdown test: a request carrying
`X-Test-Delay-S` waits that long before the app handles it, so it is surely in flight when the
server is told to stop. Not production code; uvicorn loads it with `--factory`."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from service.app import create_app


class DelayMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for key, value in scope["headers"]:
                if key == b"x-test-delay-s":
                    await asyncio.sleep(float(value))
        await self.app(scope, receive, send)


def create_slow_app() -> FastAPI:
    app = create_app()  # settings from the environment, as `microoffers serve` does
    app.add_middleware(DelayMiddleware)
    return app
