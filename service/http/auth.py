"""Who may call the keyed endpoints, written once as dependencies: keys with scopes.

- **admin** keys (`MICROOFFERS_API_KEY`, comma-separated while one is rotated out): every keyed
  endpoint (events, outbound, customer export and erasure, admin, `record=false` reads), each
  key within the write rate.
- **events** keys (`MICROOFFERS_EVENTS_KEYS`, `pk_...`): publishable, so a shop's page may hold
  one; they are accepted on `POST /events` only (403 naming the scope elsewhere) and limited per
  key and per client IP, since anyone can copy one out of the page.

With no key configured for an endpoint it is off (403) rather than open. Keys are compared in
constant time, all of them every time, and never logged or echoed; a request is known by the
key's scope and position (`admin1`, `events2`), which is what the rate limiters count by. Wrong
keys count as failed authentications of the client IP (`service.http.failures`).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.routing import BaseRoute

from service.http.deps import MetricsDep, SettingsDep
from service.http.failures import AuthGuard, AuthGuardDep, client_ip
from service.http.ratelimit import RateLimiter, retry_after
from service.settings import Settings

_bearer = HTTPBearer(
    auto_error=False,
    description="`Authorization: Bearer <key>`: an admin key (MICROOFFERS_API_KEY), or on POST /events "
    "a publishable events key (MICROOFFERS_EVENTS_KEYS)",
)


class KeyScope(StrEnum):
    EVENTS = "events"
    ADMIN = "admin"


@dataclass(frozen=True)
class Caller:
    key_id: str
    scope: KeyScope


def match_key(settings: Settings, given: str) -> Caller | None:
    """The key `given` is, if it is one; every configured key is compared, no early exit."""
    candidates = [(KeyScope.ADMIN, key) for key in settings.api_keys()]
    candidates += [(KeyScope.EVENTS, key) for key in settings.events_keys_list()]
    raw = given.encode()
    matches = [hmac.compare_digest(raw, key.encode()) for _, key in candidates]
    if not any(matches):
        return None
    index = matches.index(True)
    scope = candidates[index][0]
    position = index + 1 if scope is KeyScope.ADMIN else index + 1 - len(settings.api_keys())
    return Caller(f"{scope.value}{position}", scope)


def _configured(settings: Settings, scopes: frozenset[KeyScope]) -> bool:
    return bool(settings.api_keys()) or (KeyScope.EVENTS in scopes and bool(settings.events_keys_list()))


def authenticate(
    request: Request,
    settings: Settings,
    guard: AuthGuard,
    credentials: HTTPAuthorizationCredentials | None,
    scopes: frozenset[KeyScope],
) -> Caller:
    """The caller, if its key has one of `scopes`: 403 when no such key is configured or the key
    has another scope, 401 for a missing or wrong key, 429 while the client IP is over its
    failed authentications."""
    if not _configured(settings, scopes):
        which = "MICROOFFERS_API_KEY" + (" or MICROOFFERS_EVENTS_KEYS" if KeyScope.EVENTS in scopes else "")
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"writes are disabled: set {which} to enable this endpoint")
    guard.check(request, "bearer")
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "missing credentials: send `Authorization: Bearer <key>`", headers=challenge
        )
    caller = match_key(settings, credentials.credentials)
    if caller is None:
        guard.failed(request, "bearer")
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid API key", headers=challenge)
    if caller.scope not in scopes:
        needed = " or ".join(sorted(scope.value for scope in scopes))
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"this key has the {caller.scope.value} scope (a publishable key: POST /events only); "
            f"this endpoint needs the {needed} scope",
        )
    return caller


def _limit(limiter: RateLimiter, bucket: str, what: str, metrics: MetricsDep) -> None:
    wait = limiter.wait_s(bucket)
    if wait > 0:
        metrics.rate_limited.inc()
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"too many requests for this {what} (limit {limiter.rate_per_s:g}/s, burst {limiter.burst}); "
            "retry after the Retry-After header's seconds",
            headers={"Retry-After": retry_after(wait)},
        )


class KeyAccess:
    """A route's dependency: a key of one of `scopes`, within its rates. Admin keys share the
    write rate (`MICROOFFERS_WRITE_RATE_PER_S`, `_BURST`); a publishable key has its own
    (`MICROOFFERS_EVENTS_KEY_RATE_PER_S`, `_BURST`) and so does each client IP using one
    (`MICROOFFERS_EVENTS_IP_RATE_PER_S`, `_BURST`)."""

    def __init__(self, *scopes: KeyScope) -> None:
        self.scopes = frozenset(scopes)

    async def __call__(
        self,
        request: Request,
        settings: SettingsDep,
        guard: AuthGuardDep,
        metrics: MetricsDep,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Caller:
        caller = authenticate(request, settings, guard, credentials, self.scopes)
        limiters = request.app.state.rate_limiters
        if caller.scope is KeyScope.ADMIN:
            _limit(limiters.write, caller.key_id, "key", metrics)
        else:
            # the address first: one browser over its rate does not spend the key's shared budget
            _limit(limiters.events_ip, client_ip(request), "address with a publishable key", metrics)
            _limit(limiters.events_key, caller.key_id, "publishable key", metrics)
        return caller


@dataclass(frozen=True)
class RateLimiters:
    """The app's limiters (`app.state.rate_limiters`)."""

    write: RateLimiter
    events_key: RateLimiter
    events_ip: RateLimiter

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiters:
        return cls(
            RateLimiter(settings.write_rate_per_s, settings.write_burst),
            RateLimiter(settings.events_key_rate_per_s, settings.events_key_burst),
            RateLimiter(settings.events_ip_rate_per_s, settings.events_ip_burst),
        )


ADMIN_ACCESS = KeyAccess(KeyScope.ADMIN)
EVENTS_ACCESS = KeyAccess(KeyScope.EVENTS, KeyScope.ADMIN)
WriteAccessDep = Depends(ADMIN_ACCESS)
"""Admin scope: outbound, customers, admin."""
EventsAccessDep = Depends(EVENTS_ACCESS)
"""Events or admin scope: POST /events."""


async def recording(
    request: Request,
    settings: SettingsDep,
    guard: AuthGuardDep,
    record: Annotated[
        bool,
        Query(
            description="false: a back-office read (preview, tests, support tools) that "
            "records no impressions; needs an admin key"
        ),
    ] = True,
) -> bool:
    """Whether this read counts as showing the items to the customer. Reading is not showing:
    `record=false` leaves frequency caps and click-through untouched, and because it hides what
    a frontend did show, only admin key holders may ask for it. The key is read here rather than
    through the bearer scheme, so the schema keeps the read itself open."""
    if not record:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        given = HTTPAuthorizationCredentials(scheme=scheme, credentials=token) if scheme.lower() == "bearer" else None
        authenticate(request, settings, guard, given, frozenset({KeyScope.ADMIN}))
    return record


RecordingDep = Annotated[bool, Depends(recording)]


def route_scopes(route: BaseRoute) -> frozenset[KeyScope] | None:
    """The key scopes a route takes, None for a route without a key (public, or the preview's own
    sign-in): read from its dependencies, so it cannot disagree with what the route enforces."""
    dependant = getattr(route, "dependant", None)
    pending = list(dependant.dependencies) if dependant is not None else []
    while pending:
        dependency = pending.pop()
        if isinstance(dependency.call, KeyAccess):
            return dependency.call.scopes
        pending.extend(dependency.dependencies)
    return None
