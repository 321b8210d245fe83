"""Bearer-key authentication for endpoints that change state, written once as a dependency.

Keys come from `MICROOFFERS_API_KEY` (comma-separated while one is rotated out). With no key
configured those endpoints are off (403) rather than open. Keys are compared in constant time
and never logged or echoed.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from service.deps import SettingsDep

_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <MICROOFFERS_API_KEY>`")


async def require_api_key(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
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


ApiKeyDep = Depends(require_api_key)
