"""Cross-site request forgery protection for the preview's forms, written once.

The browser sends a marketer's credentials with every request to the preview, including one that
another site's page makes it send; a change must therefore prove that it came from a page the
preview itself rendered. Every form carries a token that is an HMAC of the signed-in user under a
secret derived from the configured keys and marketers (stateless: every worker computes the same
token, and rotating them invalidates old forms). A change is accepted only with the matching token
(form field `csrf_token` or header `X-CSRF-Token`), and only when the browser's `Origin`, if it
sends one, is the preview's own.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from service.http.deps import SettingsDep
from service.preview.auth import require_marketer
from service.settings import Settings

FIELD = "csrf_token"
HEADER = "X-CSRF-Token"


def csrf_token(settings: Settings, user: str) -> str:
    """The token a form rendered for `user` carries."""
    return hmac.new(settings.preview_secret("csrf"), user.encode(), hashlib.sha256).hexdigest()[:32]


def same_origin(request: Request) -> bool:
    """The browser's `Origin`, if it sent one, is this site's."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1] == host


async def require_csrf(request: Request, settings: SettingsDep, user: Annotated[str, Depends(require_marketer)]) -> str:
    """The signed-in user, once the request proved it came from the preview's own page (403 if not)."""
    given = request.headers.get(HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(FIELD)
        given = value if isinstance(value, str) else None
    if not same_origin(request):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "cross-site request refused: the Origin is not this preview")
    if given is None or not hmac.compare_digest(given, csrf_token(settings, user)):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"missing or stale form token ({FIELD}): reload the page and submit again"
        )
    return user


CsrfUser = Annotated[str, Depends(require_csrf)]
