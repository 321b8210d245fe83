"""Marketers' preview passwords, stored as salted scrypt hashes (`MICROOFFERS_MARKETERS`).

A hash reads `scrypt$<n>$<r>$<p>$<salt>$<key>` (salt and key in unpadded URL-safe base64): the
cost parameters travel with it, so they can be raised later without invalidating old hashes.
scrypt is slow and memory-hard on purpose, which makes a leaked configuration expensive to
brute-force; the sign-in form runs it off the event loop and behind the failed-sign-in limit.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from functools import cache

SCHEME = "scrypt"
N, R, P = 1 << 14, 8, 1  # 16 MiB, ~50 ms on one core: OWASP's minimum for scrypt
SALT_BYTES, KEY_BYTES = 16, 32
MAX_MEMORY = 64 << 20  # refuse hashes whose parameters would take more than this to check


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    key = hashlib.scrypt(password.encode(), salt=salt, n=N, r=R, p=P, dklen=KEY_BYTES)
    return "$".join([SCHEME, str(N), str(R), str(P), _b64(salt), _b64(key)])


def _parse(encoded: str) -> tuple[int, int, int, bytes, bytes]:
    parts = encoded.split("$")
    if len(parts) != 6 or parts[0] != SCHEME:
        raise ValueError(f"not a {SCHEME}$n$r$p$salt$key hash")
    try:
        n, r, p = (int(x) for x in parts[1:4])
        salt, key = _unb64(parts[4]), _unb64(parts[5])
    except (ValueError, binascii.Error):
        raise ValueError("the hash's parameters or base64 parts do not parse") from None
    if n < 2 or n & (n - 1) or not 1 <= r <= 64 or not 1 <= p <= 16 or 128 * n * r > MAX_MEMORY:
        raise ValueError("the hash's scrypt parameters are out of range")
    if len(salt) < 8 or len(key) < 16:
        raise ValueError("the hash's salt or key is too short")
    return n, r, p, salt, key


def check_encoded(encoded: str) -> None:
    """Raises ValueError saying what is wrong with a stored hash (never echoing it)."""
    _parse(encoded)


def verify_password(password: str, encoded: str) -> bool:
    """Whether `password` is the one `encoded` was made from, compared in constant time."""
    n, r, p, salt, key = _parse(encoded)
    given = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=len(key), maxmem=MAX_MEMORY + (1 << 20))
    return hmac.compare_digest(given, key)


@cache
def dummy_hash() -> str:
    """Checked for an unknown user name, so that a wrong name takes as long as a wrong password."""
    return hash_password("not a password anyone has", salt=b"\0" * SALT_BYTES)
