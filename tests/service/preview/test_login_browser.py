"""The sign-in form in a real headless Chromium against a real uvicorn server: a marketer who is
not signed in is sent to the form, a wrong password says so, the right one leads back to the
page asked for with an HttpOnly, SameSite=Lax session cookie no script can read, the header names
who is signed in, and signing out ends the session; tidy on a phone too."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, ViewportSize

from models.contract.artifact import load_artifact
from service.preview.passwords import hash_password
from service.preview.sessions import COOKIE
from tests.support.apps import settings_for
from tests.support.paths import SCREENSHOTS
from tests.support.servers import LiveServer

pytestmark = pytest.mark.browser

PASSWORD = "alice-password-1"
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
LOW_CONTRAST_JS = (Path(__file__).parent / "low_contrast.js").read_text()


@pytest.fixture(scope="module")
def server(trained_artifacts: Path) -> Iterator[LiveServer]:
    live = LiveServer(settings_for(trained_artifacts, marketers=f"alice:{hash_password(PASSWORD)}"))
    live.start()
    yield live
    live.stop()


def _console_errors(errors: list[str]) -> Callable[[ConsoleMessage], None]:
    """Console errors, but the one Chromium logs for the wrong password's 401 (the form says it)."""

    def record(message: ConsoleMessage) -> None:
        if message.type == "error" and "status of 401" not in message.text:
            errors.append(message.text)

    return record


def _submit(page: Page, user: str, password: str) -> None:
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_label("Password").press("Enter")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_sign_in_lands_on_the_page_asked_for_and_sign_out_ends_it(
    browser: Browser, server: LiveServer, trained_artifacts: Path, viewport: ViewportSize
) -> None:
    customer = str(load_artifact(trained_artifacts).customers.ids[0])
    context = browser.new_context(base_url=server.url, viewport=viewport)
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on(
            "console", lambda m: errors.append(m.text) if m.type == "error" and "status of 401" not in m.text else None
        )
        page.goto(f"/preview/customers?customer_id={customer}")
        assert "/preview/login?next=" in page.url and page.locator("h1").inner_text() == "Sign in"
        assert page.evaluate("document.activeElement.id") == "signin-user"  # type right away
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
        assert page.evaluate(LOW_CONTRAST_JS) == []
        page.screenshot(path=SCREENSHOTS / f"sign-in-{viewport['width']}x{viewport['height']}.png", full_page=True)

        _submit(page, "alice", "not-her-password")
        assert page.get_by_role("alert").inner_text() == "Wrong user name or password."
        assert page.get_by_label("User name").input_value() == "alice"  # kept; the password is not
        assert page.get_by_label("Password").input_value() == ""
        assert not any(c["name"] == COOKIE for c in context.cookies())

        page.get_by_label("Password").fill(PASSWORD)
        with page.expect_navigation():
            page.get_by_role("button", name="Sign in").click()
        assert page.url == f"{server.url}/preview/customers?customer_id={customer}"
        assert page.locator("h1").inner_text() == f"Customer {customer}"
        assert page.locator(".signout .who").inner_text() == "alice"
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
        (session,) = [c for c in context.cookies() if c["name"] == COOKIE]
        assert session["httpOnly"] and session["sameSite"] == "Lax" and session["path"] == "/preview"
        assert not session["secure"]  # plain http here; over https it is Secure
        assert COOKIE not in page.evaluate("document.cookie")  # no script can read it

        with page.expect_navigation():
            page.get_by_role("button", name="Sign out").click()
        assert page.url.endswith("/preview/login") and not any(c["name"] == COOKIE for c in context.cookies())
        page.goto("/preview")
        assert page.locator("h1").inner_text() == "Sign in"
        assert errors == []
    finally:
        context.close()
