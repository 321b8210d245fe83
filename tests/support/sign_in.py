"""Signing a real browser in to the preview through its form, as a marketer does (a browser that
is not signed in is sent to the form, not challenged for HTTP Basic)."""

from __future__ import annotations

from playwright.sync_api import Page

from tests.support.keys import MARKETER


def sign_in(page: Page, user: str = MARKETER[0], password: str = MARKETER[1], start: str = "/preview") -> None:
    """Open `start` (relative to the context's base_url), sign in on the form it leads to, and
    wait for the page to come back."""
    page.goto(start)
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
