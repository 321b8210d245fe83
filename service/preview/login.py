"""`/preview/login` (the form), `POST /preview/session` (its target) and `POST /preview/logout`:
the preview's sign-in for people (scripts use HTTP Basic, see `service.preview.auth`). The form
posts to a path of its own because one path served by two routes would answer a wrong method
with only the first route's `Allow`.

A named marketer signs in with the password whose hash `MICROOFFERS_MARKETERS` holds (`marketer`
with an admin key works too, for a shop without named users); the answer is a redirect back to
the page asked for, with the session cookie. A wrong name or password re-renders the form (401)
and counts as a failed authentication of the client IP; past the limit the form answers 429.
The form is only accepted from the preview's own pages (`Origin`), so another site cannot sign a
browser in to an account of its choosing. Signing out needs the page's form token.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse

from service.http.deps import SettingsDep
from service.http.failures import AuthGuardDep
from service.http.ratelimit import retry_after
from service.preview import sessions
from service.preview.auth import LOGIN, USER, admin_key_matches, require_enabled
from service.preview.csrf import CsrfUser, same_origin
from service.preview.passwords import dummy_hash, verify_password
from service.preview.routes import TEMPLATES
from service.settings import Settings

router = APIRouter(prefix="/preview", include_in_schema=False)
HOME = "/preview"


def _safe_next(target: str | None) -> str:
    """Only a page of the preview: `next` must not send a signed-in browser elsewhere."""
    if target and target.startswith(HOME) and not target.startswith("//") and "\\" not in target:
        rest = target[len(HOME) :]
        if rest == "" or rest[0] in "/?":
            return target
    return HOME


def _form(
    request: Request, next_page: str, user: str = "", problem: str | None = None, status_code: int = 200
) -> HTMLResponse:
    context = {"next": next_page, "problem": problem, "user": user}
    headers = {"Cache-Control": "no-store"}
    return TEMPLATES.TemplateResponse(request, "login.html", context, status_code=status_code, headers=headers)


def _password_ok(settings: Settings, user: str, password: str) -> bool:
    """scrypt for a named marketer (and for an unknown name, against a dummy hash, so that the
    answer takes as long); the admin keys for `marketer`."""
    if user == USER:
        return admin_key_matches(settings, password)
    stored = settings.marketer_hashes().get(user)
    matches = verify_password(password, stored or dummy_hash())
    return matches and stored is not None


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, settings: SettingsDep, next: str | None = None) -> HTMLResponse:
    require_enabled(settings)
    return _form(request, _safe_next(next))


@router.post("/session", response_class=HTMLResponse)
async def login(
    request: Request,
    settings: SettingsDep,
    guard: AuthGuardDep,
    user: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2048)] = HOME,
) -> Response:
    require_enabled(settings)
    next_page = _safe_next(next)
    if not same_origin(request):
        return _form(request, next_page, user, "This sign-in did not come from this preview's page.", 403)
    wait = guard.wait_s(request, "form")
    if wait > 0:
        refused = _form(request, next_page, user, "Too many failed sign-ins from this address: try again later.", 429)
        refused.headers["Retry-After"] = retry_after(wait)
        return refused
    user = user.strip().lower()
    if not await run_in_threadpool(_password_ok, settings, user, password):
        guard.failed(request, "form")
        return _form(request, next_page, user, "Wrong user name or password.", 401)
    response = RedirectResponse(next_page, status_code=status.HTTP_303_SEE_OTHER)
    sessions.set_cookie(response, request, settings, sessions.issue(settings, user, time.time()))
    return response


@router.post("/logout")
async def logout(request: Request, user: CsrfUser) -> Response:
    """Deletes the session cookie (a script's HTTP Basic has nothing to end)."""
    response = RedirectResponse(LOGIN, status_code=status.HTTP_303_SEE_OTHER)
    sessions.clear_cookie(response, request)
    return response
