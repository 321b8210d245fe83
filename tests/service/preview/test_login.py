"""The preview's sign-in form over HTTP: a browser that is not signed in is sent to the form; a
named marketer's right password gives a signed session cookie (HttpOnly, SameSite=Lax, Secure
over https) and the page asked for; wrong ones re-render the form; the session names the user
(for audit logs and form tokens); signing out ends it; HTTP Basic keeps working for scripts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.preview.csrf import csrf_token
from service.preview.passwords import hash_password
from service.preview.sessions import COOKIE
from service.settings import Settings
from tests.support.apps import settings_for
from tests.support.keys import API_KEY, MARKETER

PASSWORDS = {"alice": "alice-password-1", "bob": "bob-password-22"}
MARKETERS = ",".join(f"{name}:{hash_password(pw)}" for name, pw in PASSWORDS.items())
PAGE = {"Accept": "text/html,application/xhtml+xml"}


def _app_settings(trained_artifacts: Path, api_key: str | None = API_KEY) -> Settings:
    return settings_for(trained_artifacts, marketers=MARKETERS, api_key=api_key)


@pytest.fixture(scope="module")
def client(trained_artifacts: Path) -> Iterator[TestClient]:
    with TestClient(create_app(_app_settings(trained_artifacts)), follow_redirects=False) as c:
        yield c


def _sign_in(client: TestClient, user: str, password: str, next_page: str = "/preview") -> httpx.Response:
    client.cookies.clear()
    return client.post("/preview/session", data={"user": user, "password": password, "next": next_page})


def test_a_browser_that_is_not_signed_in_is_sent_to_the_form(client: TestClient) -> None:
    client.cookies.clear()
    resp = client.get("/preview/customers?customer_id=13085", headers=PAGE)
    assert resp.status_code == 303
    assert resp.headers["location"] == "/preview/login?next=%2Fpreview%2Fcustomers%3Fcustomer_id%3D13085"
    form = client.get(resp.headers["location"])
    assert form.status_code == 200 and 'action="/preview/session"' in form.text
    assert 'value="/preview/customers?customer_id=13085"' in form.text
    assert client.get("/preview").status_code == 401  # a script (no Accept: text/html) gets the Basic challenge


def test_the_right_password_signs_in_with_a_safe_cookie(client: TestClient) -> None:
    resp = _sign_in(client, "alice", PASSWORDS["alice"], "/preview/segments/0")
    assert resp.status_code == 303 and resp.headers["location"] == "/preview/segments/0"
    cookie = resp.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=alice.")
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "path", "max-age", "samesite"} <= attributes and "secure" not in attributes
    assert "samesite=lax" in cookie.lower() and "path=/preview" in cookie.lower()
    page = client.get("/preview", headers=PAGE)
    assert page.status_code == 200 and "What will go out" in page.text
    assert '<span class="who">alice</span>' in page.text


def test_over_https_the_cookie_is_secure(trained_artifacts: Path) -> None:
    app = create_app(_app_settings(trained_artifacts))
    with TestClient(app, base_url="https://preview.example", follow_redirects=False) as client:
        resp = client.post("/preview/session", data={"user": "bob", "password": PASSWORDS["bob"]})
        assert resp.status_code == 303 and "secure" in resp.headers["set-cookie"].lower()


@pytest.mark.parametrize(
    ("user", "password"), [("alice", "wrong"), ("alice", PASSWORDS["bob"]), ("carol", "whatever"), ("", "")]
)
def test_a_wrong_user_or_password_re_renders_the_form(client: TestClient, user: str, password: str) -> None:
    resp = _sign_in(client, user, password)
    assert resp.status_code == 401
    assert "Wrong user name or password." in resp.text
    assert "set-cookie" not in resp.headers
    assert password not in resp.text or not password


@pytest.mark.parametrize(
    ("asked", "sent_to"),
    [
        ("/preview/customers?customer_id=1", "/preview/customers?customer_id=1"),
        ("https://evil.example/preview", "/preview"),
        ("//evil.example", "/preview"),
        ("/previewer", "/preview"),
        ("/docs", "/preview"),
    ],
)
def test_next_only_leads_to_the_preview(client: TestClient, asked: str, sent_to: str) -> None:
    resp = _sign_in(client, "bob", PASSWORDS["bob"], asked)
    assert resp.headers["location"] == sent_to


def test_a_sign_in_posted_from_another_site_is_refused(client: TestClient) -> None:
    client.cookies.clear()
    form = {"user": "alice", "password": PASSWORDS["alice"]}
    resp = client.post("/preview/session", data=form, headers={"Origin": "https://evil.example"})
    assert resp.status_code == 403 and "set-cookie" not in resp.headers


def test_the_session_names_the_user_for_form_tokens_and_signing_out_ends_it(client: TestClient) -> None:
    _sign_in(client, "alice", PASSWORDS["alice"])
    settings = client.app.state.settings  # type: ignore[attr-defined]
    page = client.get("/preview", headers=PAGE)
    assert f'value="{csrf_token(settings, "alice")}"' in page.text  # the sign-out form is alice's
    assert client.post("/preview/logout", data={"csrf_token": csrf_token(settings, "bob")}).status_code == 403
    out = client.post("/preview/logout", data={"csrf_token": csrf_token(settings, "alice")})
    assert out.status_code == 303 and out.headers["location"] == "/preview/login"
    assert "max-age=0" in out.headers["set-cookie"].lower() or "expires=" in out.headers["set-cookie"].lower()
    assert client.get("/preview", headers=PAGE).status_code == 303


def test_a_tampered_cookie_is_not_signed_in(client: TestClient) -> None:
    resp = _sign_in(client, "bob", PASSWORDS["bob"])
    value = resp.cookies[COOKIE]
    client.cookies.clear()
    _, expires, signature = value.split(".")
    client.cookies.set(COOKIE, f"alice.{expires}.{signature}", path="/preview")
    assert client.get("/preview", headers=PAGE).status_code == 303
    assert client.get("/preview").status_code == 401


def test_basic_still_signs_scripts_in_and_the_form_takes_marketer_with_an_admin_key(client: TestClient) -> None:
    client.cookies.clear()
    assert client.get("/preview", auth=MARKETER).status_code == 200
    assert client.get("/preview", auth=("alice", PASSWORDS["alice"])).status_code == 401  # Basic: scripts only
    assert _sign_in(client, "marketer", API_KEY).status_code == 303


def test_with_only_marketers_the_preview_works_by_form_and_basic_is_closed(trained_artifacts: Path) -> None:
    settings = _app_settings(trained_artifacts, api_key=None)
    with TestClient(create_app(settings), follow_redirects=False) as client:
        assert client.get("/preview", auth=MARKETER).status_code == 401
        assert _sign_in(client, "alice", PASSWORDS["alice"]).status_code == 303
        assert client.get("/preview", headers=PAGE).status_code == 200


def test_with_neither_marketers_nor_keys_the_preview_is_off(trained_artifacts: Path) -> None:
    with TestClient(create_app(settings_for(trained_artifacts, api_key=None))) as client:
        for resp in (client.get("/preview/login"), client.get("/preview", headers=PAGE)):
            assert resp.status_code == 403 and "MICROOFFERS_MARKETERS" in resp.json()["message"]
