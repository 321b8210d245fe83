"""The settings of keys, marketers and origins are checked at start-up, and a refused one is named
without its value: a typo in a secret must not end up in a log."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from service.preview.passwords import hash_password
from service.settings import Settings

ALICE = hash_password("alice-password", salt=b"a" * 16)


def _settings(**values: object) -> Settings:
    return Settings(artifacts=Path("unused"), **values)  # type: ignore[arg-type]


def test_marketers_parse_into_names_and_hashes() -> None:
    bob = hash_password("bob-password", salt=b"b" * 16)
    settings = _settings(marketers=f"alice:{ALICE}, bob:{bob}")
    assert settings.marketer_hashes() == {"alice": ALICE, "bob": bob}


@pytest.mark.parametrize(
    ("marketers", "message"),
    [
        ("alice", "name:hash"),
        (f"Alice:{ALICE}", "name:hash"),
        (f"marketer:{ALICE}", "reserved"),
        (f"alice:{ALICE},alice:{ALICE}", "twice"),
        ("alice:secret-in-plain-text", "marketer-hash"),
    ],
)
def test_bad_marketers_are_refused_and_named_never_echoed(marketers: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as refused:
        _settings(marketers=marketers)
    assert ALICE not in str(refused.value) and "secret-in-plain-text" not in str(refused.value)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"events_keys": "not-publishable-0123456789"}, "starts with pk_"),
        ({"events_keys": "pk_short"}, "16 characters"),
        ({"api_key": "pk_looks_public_0123456789"}, "must not start with pk_"),
    ],
)
def test_publishable_keys_look_like_one_and_admin_keys_do_not(values: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message) as refused:
        _settings(**values)
    assert next(iter(values.values())) not in str(refused.value)


def test_the_preview_secret_follows_the_keys_unless_it_is_set() -> None:
    one, two = _settings(api_key="key-one-0123456789"), _settings(api_key="key-two-0123456789")
    assert one.preview_secret("session") != two.preview_secret("session")
    assert one.preview_secret("session") != one.preview_secret("csrf")
    pinned = [_settings(api_key=key, session_secret="s" * 32) for key in ("key-one-0123456789", "key-two-0123456789")]
    assert pinned[0].preview_secret("session") == pinned[1].preview_secret("session")
