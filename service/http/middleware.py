"""Cross-cutting HTTP concerns as one pure-ASGI middleware (cheap on the hot path, unlike
`BaseHTTPMiddleware`): a request id on every answer, one structured access-log line per request,
latency and status metrics per route template, and security headers.

What a log line holds, and what it never holds, is `service.observability.logs`' business.
"""

from __future__ import annotations

import itertools
import os
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.observability.logs import AccessLog
from service.observability.metrics import Metrics

# `same-origin`: no other site learns a preview URL (they name customers), while the preview's own
# forms carry their real `Origin`, which its CSRF and sign-in checks need (under `no-referrer` a
# browser sends `Origin: null` even for a same-origin form post).
SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]
# HTML pages get a strict policy: everything from this origin, no inline script or style (the
# preview needs none). Only the interactive API docs, which FastAPI renders with an inline script
# and Swagger UI from a CDN, get the looser one.
HTML_CSP = (  # img-src https: for the catalog's product images (`image_url`)
    b"default-src 'self'; img-src 'self' data: https:; style-src 'self'; script-src 'self'; form-action 'self'; "
    b"base-uri 'none'; object-src 'none'; frame-ancestors 'none'"
)
DOCS_CSP = (
    b"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    b"script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")


def html_security_headers(path: str) -> list[tuple[bytes, bytes]]:
    csp = DOCS_CSP if path.startswith(DOCS_PATHS) else HTML_CSP
    return [(b"x-frame-options", b"DENY"), (b"content-security-policy", csp)]


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


def _valid_request_id(value: str | None) -> str | None:
    if value and len(value) <= 64 and all(c.isalnum() or c in "-_." for c in value):
        return value
    return None


_REQUEST_ID_PREFIX = os.urandom(6).hex()  # per process: ids stay unique across workers
_request_numbers = itertools.count(1)


def request_id_of(scope: Scope) -> str:
    """The caller's `X-Request-ID` if it is a sane one, else a new id (a per-process random
    prefix and a counter: unique without a system call per request, unlike `uuid4`)."""
    return _valid_request_id(_header(scope, b"x-request-id")) or f"{_REQUEST_ID_PREFIX}-{next(_request_numbers):x}"


def response_headers(request_id: str) -> list[tuple[bytes, bytes]]:
    return [(b"x-request-id", request_id.encode()), *SECURITY_HEADERS]


class RequestContextMiddleware:
    def __init__(
        self, app: ASGIApp, access_log: bool = True, log_customer_ids: bool = False, metrics: Metrics | None = None
    ) -> None:
        self.app = app
        self.access = AccessLog(access_log, log_customer_ids, metrics)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        start = time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers += response_headers(request_id)
                if any(k == b"content-type" and v.startswith(b"text/html") for k, v in headers):
                    headers.extend(html_security_headers(scope.get("path", "")))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.access.record(scope, route, status, time.perf_counter() - start, request_id)
