"""The preview's session cookie: accepted while intact and unexpired, refused once tampered with,
expired, or when the user's password (or the secret) changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.preview.passwords import hash_password
from service.preview.sessions import issue, signed_in_user
from service.settings import Settings

NOW = 1_800_000_000.0
ALICE = hash_password("alice-password", salt=b"a" * 16)
BOB = hash_password("bob-password", salt=b"b" * 16)


def _settings(alice: str = ALICE, api_key: str = "admin-key-0123456789") -> Settings:
    return Settings(artifacts=Path("unused"), api_key=api_key, marketers=f"alice:{alice},bob:{BOB}", session_ttl_s=3600)  # type: ignore[arg-type]


def test_a_session_names_its_user_until_it_expires() -> None:
    settings = _settings()
    cookie = issue(settings, "alice", NOW)
    assert signed_in_user(settings, cookie, NOW) == "alice"
    assert signed_in_user(settings, cookie, NOW + 3599) == "alice"
    assert signed_in_user(settings, cookie, NOW + 3600) is None


def _tampered(cookie: str) -> list[str]:
    user, expires, signature = cookie.split(".")
    flipped = ("0" if signature[0] != "0" else "1") + signature[1:]
    return [
        f"bob.{expires}.{signature}",  # another user, same signature
        f"{user}.{int(expires) + 86_400}.{signature}",  # a longer life
        f"{user}.{expires}.{flipped}",
        f"{user}.{expires}",
        f"{user}..{signature}",
        "",
        "garbage",
        f"{user}.-1.{signature}",
    ]


@pytest.mark.parametrize("case", range(8))
def test_a_tampered_cookie_is_nobody(case: int) -> None:
    settings = _settings()
    assert signed_in_user(settings, _tampered(issue(settings, "alice", NOW))[case], NOW) is None


def test_a_new_password_or_new_keys_end_the_session() -> None:
    cookie = issue(_settings(), "alice", NOW)
    assert signed_in_user(_settings(alice=hash_password("new-password")), cookie, NOW) is None
    assert signed_in_user(_settings(api_key="rotated-key-0123456789"), cookie, NOW) is None
    bobs = issue(_settings(), "bob", NOW)
    assert signed_in_user(_settings(alice=hash_password("new-password")), bobs, NOW) is None  # secret moved too


def test_only_configured_users_get_a_session() -> None:
    with pytest.raises(ValueError, match="may not sign in"):
        issue(_settings(), "carol", NOW)
    marketer = issue(_settings(), "marketer", NOW)  # HTTP Basic's user, with an admin key
    assert signed_in_user(_settings(), marketer, NOW) == "marketer"
