"""The real app behind a test-only delay, for the graceful-shutdown test: a request carrying
`X-Test-Delay-S` waits that long before the app handles it, so it is surely in flight when the
server is told to stop, and `GET /_test/delayed` answers how many requests are waiting right now,
so the test signals the server once they all are. Not production code; uvicorn loads it with
`--factory`."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from service.app import create_app

DELAYED = "/_test/delayed"


class DelayMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.waiting = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if scope["path"] == DELAYED:
                await PlainTextResponse(str(self.waiting))(scope, receive, send)
                return
            for key, value in scope["headers"]:
                if key == b"x-test-delay-s":
                    self.waiting += 1
                    try:
                        await asyncio.sleep(float(value))
                    finally:
                        self.waiting -= 1
        await self.app(scope, receive, send)


def create_slow_app() -> FastAPI:
    app = create_app()  # settings from the environment, as `microoffers serve` does
    app.add_middleware(DelayMiddleware)
    return app
