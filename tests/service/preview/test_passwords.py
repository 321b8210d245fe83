"""Marketers' password hashes: salted scrypt that verifies the right password only, carries its
parameters, and refuses malformed or too costly hashes with a message that does not echo them."""

from __future__ import annotations

import pytest

from service.preview.passwords import check_encoded, hash_password, verify_password


def test_a_hash_verifies_its_password_only() -> None:
    encoded = hash_password("correct horse battery")
    assert encoded.startswith("scrypt$16384$8$1$")
    assert verify_password("correct horse battery", encoded)
    assert not verify_password("correct horse batterx", encoded)
    assert not verify_password("", encoded)


def test_each_hash_has_its_own_salt() -> None:
    assert hash_password("same password") != hash_password("same password")
    assert hash_password("same password", salt=b"s" * 16) == hash_password("same password", salt=b"s" * 16)


@pytest.mark.parametrize(
    "encoded",
    [
        "plain-text-password",
        "bcrypt$12$abc$def",
        "scrypt$16384$8$1$c2FsdHNhbHQ",
        "scrypt$abc$8$1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
        "scrypt$1000$8$1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",  # n not a power of two
        "scrypt$1048576$8$1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",  # 1 GiB to check
        "scrypt$16384$8$1$c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5",  # 4-byte salt
    ],
)
def test_malformed_hashes_are_refused_without_echoing_them(encoded: str) -> None:
    with pytest.raises(ValueError) as refused:
        check_encoded(encoded)
    assert encoded not in str(refused.value)
