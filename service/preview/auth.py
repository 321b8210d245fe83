"""HTTP Basic auth for the marketers' preview, written once as a dependency of its router.

User `marketer`, password = the configured API key (any of them while one is rotated out): the
preview shows customers' purchase histories, so it is never open. With no key configured it is
off (403), the same rule as the write and admin endpoints. Compared in constant time; the
password is never logged or echoed.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPBasic, HTTPBasicCredentials

from service.http.deps import SettingsDep

USER = "marketer"
REALM = "Micro-offers preview"
_basic = HTTPBasic(auto_error=False, realm=REALM, description="user `marketer`, password = MICROOFFERS_API_KEY")


async def require_marketer(
    settings: SettingsDep, credentials: Annotated[HTTPBasicCredentials | None, Depends(_basic)]
) -> str:
    """The signed-in marketer's user name: who the audit log names for a change made in the preview."""
    keys = settings.api_keys()
    if not keys:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "the preview is off: set MICROOFFERS_API_KEY to enable it (user `marketer`)"
        )
    challenge = {"WWW-Authenticate": f'Basic realm="{REALM}", charset="UTF-8"'}
    if credentials is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "sign in as `marketer` with the API key", headers=challenge)
    user_ok = secrets.compare_digest(credentials.username.encode(), USER.encode())
    given = credentials.password.encode()
    password_ok = [secrets.compare_digest(given, key.encode()) for key in keys]  # every key: no early exit
    if not (user_ok and any(password_ok)):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong user or password", headers=challenge)
    return USER
