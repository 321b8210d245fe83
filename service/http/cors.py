"""CORS for the routes a shop's page calls from the browser, and for no other.

A browser on a configured origin (`MICROOFFERS_CORS_ORIGINS`) may call `POST /events` with a
publishable key and the public reads (`/recommend`, `/personal-store`, items, segments); the
admin-keyed routes and the preview get no CORS headers, so a page elsewhere cannot use an admin
key a browser might hold, nor read the answers. Credentials (cookies) are never allowed
cross-origin: keys travel in the `Authorization` header. Starlette's CORSMiddleware does the
work; this only decides, by path, which requests it sees.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence

from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from service.http.auth import KeyScope, route_scopes

METHODS = ["GET", "POST"]
HEADERS = ["Authorization", "Content-Type", "X-Request-ID"]
EXPOSED = ["Retry-After", "X-Request-ID"]


def api_routes(routes: Iterable[BaseRoute]) -> Iterator[BaseRoute]:
    """Every route of an app, inside the routers it includes too (FastAPI keeps those whole)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from api_routes(included.routes)
        else:
            yield route


def browser_facing(route: BaseRoute) -> bool:
    """A route of the JSON API that is public or takes a publishable key."""
    if not isinstance(route, APIRoute) or not route.include_in_schema:
        return False
    scopes = route_scopes(route)
    return scopes is None or KeyScope.EVENTS in scopes


class ScopedCORSMiddleware:
    def __init__(self, app: ASGIApp, allow_origins: Sequence[str], routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=allow_origins,
            allow_methods=METHODS,
            allow_headers=HEADERS,
            expose_headers=EXPOSED,
            allow_credentials=False,
            max_age=600,
        )
        self._routes = routes  # the app's route list: complete by the first request
        self._paths: list[re.Pattern[str]] | None = None

    def _browser_path(self, path: str) -> bool:
        if self._paths is None:
            self._paths = [route.path_regex for route in api_routes(self._routes) if browser_facing(route)]  # type: ignore[attr-defined]
        return any(pattern.match(path) for pattern in self._paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self._browser_path(scope["path"]):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
