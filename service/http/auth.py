"""Access to endpoints that change state or read personal data, written once as dependencies.

Keys come from `MICROOFFERS_API_KEY` (comma-separated while one is rotated out). With no key
configured those endpoints are off (403) rather than open. Keys are compared in constant time
and never logged or echoed; a request is known by the key's position (`key1`, `key2`), which is
what the rate limiter counts by.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from service.http.deps import MetricsDep, SettingsDep
from service.http.ratelimit import RateLimiter, retry_after

_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <MICROOFFERS_API_KEY>`")


async def require_api_key(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """The matching key's id (`key1`, ...); 403 when no key is configured, 401 for a wrong one."""
    keys = settings.api_keys()
    if not keys:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "writes are disabled: set MICROOFFERS_API_KEY to enable this endpoint"
        )
    if credentials is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing credentials: send `Authorization: Bearer <key>`",
            headers={"WWW-Authenticate": "Bearer"},
        )
    given = credentials.credentials.encode()
    matches = [hmac.compare_digest(given, key.encode()) for key in keys]  # every key compared: no early exit
    if not any(matches):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid API key", headers={"WWW-Authenticate": "Bearer"})
    return f"key{matches.index(True) + 1}"


async def require_write_access(
    request: Request, key_id: Annotated[str, Depends(require_api_key)], metrics: MetricsDep
) -> None:
    """A valid key within its rate (`MICROOFFERS_WRITE_RATE_PER_S`, `MICROOFFERS_WRITE_BURST`)."""
    limiter: RateLimiter = request.app.state.rate_limiter
    wait = limiter.wait_s(key_id)
    if wait > 0:
        metrics.rate_limited.inc()
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"too many write requests for this key (limit {limiter.rate_per_s:g}/s, burst {limiter.burst}); "
            "retry after the Retry-After header's seconds",
            headers={"Retry-After": retry_after(wait)},
        )


ApiKeyDep = Depends(require_api_key)
WriteAccessDep = Depends(require_write_access)


async def recording(
    request: Request,
    settings: SettingsDep,
    record: Annotated[
        bool,
        Query(
            description="false: a back-office read (preview, tests, support tools) that "
            "records no impressions; needs the bearer key"
        ),
    ] = True,
) -> bool:
    """Whether this read counts as showing the items to the customer. Reading is not showing:
    `record=false` leaves frequency caps and click-through untouched, and because it hides what
    a frontend did show, only key holders may ask for it. The key is read here rather than
    through the bearer scheme, so the schema keeps the read itself open."""
    if not record:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        given = HTTPAuthorizationCredentials(scheme=scheme, credentials=token) if scheme.lower() == "bearer" else None
        await require_api_key(settings, given)
    return record


RecordingDep = Annotated[bool, Depends(recording)]
