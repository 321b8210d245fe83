"""The preview's sign-in session: a signed cookie, so every worker accepts it without shared state.

The cookie reads `<user>.<expires>.<signature>`: the signature is an HMAC-SHA256, under the
preview's session secret, of the user, the expiry (Unix seconds) and the user's stored password
hash. So a session ends when it expires, when that user's password changes or the user is
removed, and for everyone when the keys, the marketers or `MICROOFFERS_SESSION_SECRET` change;
signing out deletes the cookie. HttpOnly (no script reads it), SameSite=Lax (another site's form
cannot post with it), Secure when the preview is served over https, scoped to `/preview`.
"""

from __future__ import annotations

import hashlib
import hmac

from fastapi import Request, Response

from service.settings import BASIC_USER, MARKETER_NAME, Settings

COOKIE = "microoffers_session"
PATH = "/preview"


def _fingerprint(settings: Settings, user: str) -> str | None:
    """What the session of `user` depends on besides the secret; None if `user` may not sign in."""
    if user == BASIC_USER:
        return "" if settings.api_keys() else None
    return settings.marketer_hashes().get(user)


def _signature(settings: Settings, user: str, expires: int, fingerprint: str) -> str:
    message = f"{user}\n{expires}\n{fingerprint}".encode()
    return hmac.new(settings.preview_secret("session"), message, hashlib.sha256).hexdigest()


def issue(settings: Settings, user: str, now: float) -> str:
    fingerprint = _fingerprint(settings, user)
    if fingerprint is None:
        raise ValueError(f"{user!r} may not sign in")
    expires = int(now) + settings.session_ttl_s
    return f"{user}.{expires}.{_signature(settings, user, expires, fingerprint)}"


def signed_in_user(settings: Settings, cookie: str | None, now: float) -> str | None:
    """The user a cookie was issued to, if it is intact, unexpired and still valid."""
    if not cookie:
        return None
    user, _, rest = cookie.partition(".")
    expires_text, _, signature = rest.partition(".")
    if (
        not expires_text.isdigit()
        or len(expires_text) > 12
        or not (user == BASIC_USER or MARKETER_NAME.fullmatch(user))
    ):
        return None
    expires = int(expires_text)
    fingerprint = _fingerprint(settings, user)
    if fingerprint is None or now >= expires:
        return None
    if not hmac.compare_digest(signature.encode(), _signature(settings, user, expires, fingerprint).encode()):
        return None
    return user


def set_cookie(response: Response, request: Request, settings: Settings, value: str) -> None:
    response.set_cookie(
        COOKIE,
        value,
        max_age=settings.session_ttl_s,
        path=PATH,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def clear_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(COOKIE, path=PATH, httponly=True, samesite="lax", secure=request.url.scheme == "https")
