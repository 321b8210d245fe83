"""Failed authentications per client IP, written once for every way of signing in (bearer key,
HTTP Basic, the preview's sign-in form).

A client that presented wrong credentials `limit` times within `window_s` is refused with 429
and `Retry-After` until the oldest of those failures leaves the window, whatever it sends
meanwhile, a right key included: otherwise the answer to a guess would still tell right from
wrong. Successful sign-ins and requests without credentials do not count. Per process, like the
write rate limiter; the client is the connection's peer address (behind a proxy, run uvicorn
with `--forwarded-allow-ips` so that it is the browser's).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import Depends, HTTPException, Request, status

from service.http.ratelimit import retry_after
from service.observability.metrics import Metrics

Scheme = Literal["bearer", "basic", "form"]
MAX_TRACKED = 100_000  # clients remembered at most; those with no failure in the window go first


class AuthFailures:
    def __init__(
        self, limit: int, window_s: float, clock: Callable[[], float] = time.monotonic, max_tracked: int = MAX_TRACKED
    ) -> None:
        self.limit, self.window_s, self.clock, self.max_tracked = limit, window_s, clock, max_tracked
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def blocked_s(self, client: str) -> float:
        """0 if `client` may try to authenticate now, else the seconds until it may."""
        now = self.clock()
        with self._lock:
            times = self._failures.get(client)
            if times is None:
                return 0.0
            while times and times[0] <= now - self.window_s:
                times.popleft()
            if len(times) < self.limit:
                return 0.0
            return times[0] + self.window_s - now

    def failed(self, client: str) -> None:
        now = self.clock()
        with self._lock:
            if client not in self._failures and len(self._failures) >= self.max_tracked:
                self._forget_quiet(now)
            self._failures.setdefault(client, deque(maxlen=self.limit)).append(now)

    def _forget_quiet(self, now: float) -> None:
        quiet = [c for c, times in self._failures.items() if not times or times[-1] <= now - self.window_s]
        for client in quiet or list(self._failures)[: len(self._failures) // 2]:
            del self._failures[client]


def client_ip(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


class AuthGuard:
    """The failure count of one app with its metrics: `check` before looking at credentials,
    `failed` when they were wrong."""

    def __init__(self, failures: AuthFailures, metrics: Metrics | None) -> None:
        self.failures, self.metrics = failures, metrics

    def wait_s(self, request: Request, scheme: Scheme) -> float:
        wait = self.failures.blocked_s(client_ip(request))
        if wait > 0 and self.metrics is not None:
            self.metrics.auth_blocked.labels(scheme).inc()
        return wait

    def check(self, request: Request, scheme: Scheme) -> None:
        """429 with Retry-After while this client is over its failures."""
        wait = self.wait_s(request, scheme)
        if wait > 0:
            raise HTTPException(
                status.HTTP_429_TOO_MANY_REQUESTS,
                f"too many failed authentications from this address ({self.failures.limit} in "
                f"{self.failures.window_s:g} s); retry after the Retry-After header's seconds",
                headers={"Retry-After": retry_after(wait)},
            )

    def failed(self, request: Request, scheme: Scheme) -> None:
        self.failures.failed(client_ip(request))
        if self.metrics is not None:
            self.metrics.auth_failures.labels(scheme).inc()


async def get_auth_guard(request: Request) -> AuthGuard:
    """The app's guard; an app assembled without `create_app` (a test of one dependency) gets
    one made from its settings on first use."""
    state = request.app.state
    guard: AuthGuard | None = getattr(state, "auth_guard", None)
    if guard is None:
        settings = state.settings
        failures = AuthFailures(settings.auth_failure_limit, settings.auth_failure_window_s)
        guard = state.auth_guard = AuthGuard(failures, getattr(state, "metrics", None))
    return guard


AuthGuardDep = Annotated[AuthGuard, Depends(get_auth_guard)]
