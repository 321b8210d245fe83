"""Typed reads of what the code under test wrote to Redis. The tests' clients do not decode
responses, so Redis answers bytes; redis-py declares `bytes | str` for every client (and `None`
where a key may be missing), which these narrow, asserting where the key must exist."""

from __future__ import annotations

from typing import cast

import redis

Entry = tuple[bytes, dict[bytes, bytes]]


def value(client: redis.Redis, key: str) -> bytes:
    """The string at `key`, failing the test if there is none."""
    found = client.get(key)
    assert isinstance(found, bytes), f"{key} holds {found!r}"
    return found


def kind(client: redis.Redis, key: str) -> str:
    """The type of the value at `key` ("hash", "string", ... or "none")."""
    return cast(bytes, client.type(key)).decode()


def fields(client: redis.Redis, key: str) -> dict[bytes, bytes]:
    """The hash at `key` (empty if there is none)."""
    return cast(dict[bytes, bytes], client.hgetall(key))


def entries(client: redis.Redis, stream: str) -> list[Entry]:
    """Every entry of `stream`, oldest first, as (id, fields)."""
    return cast(list[Entry], client.xrange(stream))
