"""Who is signed in to the marketers' preview, written once as a dependency of its router.

Two ways in, checked in this order:
- HTTP Basic, for scripts: user `marketer`, password = an admin key (`MICROOFFERS_API_KEY`, any
  of them while one is rotated out), sent with every request, as before;
- the sign-in form (`/preview/login`, see `service.preview.login`) for people: named marketers
  (`MICROOFFERS_MARKETERS`, scrypt hashes) or `marketer` with an admin key, remembered by a
  signed session cookie (`service.preview.sessions`).

The preview shows customers' purchase histories, so it is never open: with neither marketers nor
a key configured it is off (403). A browser that is not signed in is sent to the form (303); any
other client gets 401 with a Basic challenge. Wrong Basic credentials count as failed
authentications of the client IP. Compared in constant time; passwords are never logged.
"""

from __future__ import annotations

import secrets
import time
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPBasic, HTTPBasicCredentials

from service.http.deps import SettingsDep
from service.http.failures import AuthGuardDep
from service.preview import sessions
from service.settings import BASIC_USER, Settings

USER = BASIC_USER
REALM = "Micro-offers preview"
LOGIN = "/preview/login"
_basic = HTTPBasic(auto_error=False, realm=REALM, description="user `marketer`, password = MICROOFFERS_API_KEY")


def preview_enabled(settings: Settings) -> bool:
    return bool(settings.api_keys() or settings.marketer_hashes())


def require_enabled(settings: Settings) -> None:
    if not preview_enabled(settings):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "the preview is off: set MICROOFFERS_MARKETERS (sign-in form) or MICROOFFERS_API_KEY (user `marketer`)",
        )


def admin_key_matches(settings: Settings, password: str) -> bool:
    given = password.encode()
    matches = [secrets.compare_digest(given, key.encode()) for key in settings.api_keys()]  # all: no early exit
    return any(matches)


def _wants_page(request: Request) -> bool:
    return request.method == "GET" and "text/html" in request.headers.get("accept", "")


async def require_marketer(
    request: Request,
    settings: SettingsDep,
    guard: AuthGuardDep,
    credentials: Annotated[HTTPBasicCredentials | None, Depends(_basic)],
) -> str:
    """The signed-in marketer's user name: who the audit log names for a change made in the preview.
    Also left on `request.state.preview_user` (and `preview_session`) for the page templates."""
    require_enabled(settings)
    if credentials is not None:
        guard.check(request, "basic")
        challenge = {"WWW-Authenticate": f'Basic realm="{REALM}", charset="UTF-8"'}
        user_ok = secrets.compare_digest(credentials.username.encode(), USER.encode())
        password_ok = admin_key_matches(settings, credentials.password)
        if not (user_ok and password_ok):
            guard.failed(request, "basic")
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong user or password", headers=challenge)
        request.state.preview_user, request.state.preview_session = USER, False
        return USER
    user = sessions.signed_in_user(settings, request.cookies.get(sessions.COOKIE), time.time())
    if user is not None:
        request.state.preview_user, request.state.preview_session = user, True
        return user
    if _wants_page(request):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise HTTPException(
            status.HTTP_303_SEE_OTHER, "sign in first", headers={"Location": f"{LOGIN}?next={quote(target, safe='')}"}
        )
    raise HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        "sign in as `marketer` with the API key, or through /preview/login",
        headers={"WWW-Authenticate": f'Basic realm="{REALM}", charset="UTF-8"'},
    )
