"""A test that talks to Redis carries the `redis` marker and one that drives Chromium the `browser`
marker, so that `-m "not redis"` or `-m "not browser"` leaves out exactly the tests that need them.

Checked twice. At collection, from the fixtures a test requests (the root conftest fails the run
when a test requests one of `FIXTURES` without its marker). While a test runs, for what
collection cannot see: `RedisServer.url` calls `require("redis")`, which fails the running test
unless it carries the marker, so a server fetched with `request.getfixturevalue` or started by the
test itself is caught as well. Fixtures parametrized over the stores mark their Redis parameter
(`tests.support.stores.STORES`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

FIXTURES = {
    "redis": frozenset({"redis_server", "redis_client", "own_redis", "redis_cluster"}),
    "browser": frozenset({"browser"}),
}

_running: list[pytest.Item] = []


def missing(item: pytest.Item) -> list[str]:
    """The markers `item` lacks for the fixtures it requests (directly or through other fixtures)."""
    requested = set(getattr(item, "fixturenames", ()))
    return [name for name, fixtures in FIXTURES.items() if requested & fixtures and not item.get_closest_marker(name)]


@contextmanager
def running(item: pytest.Item) -> Iterator[None]:
    """While `item` is set up, run and torn down, `require` checks it."""
    _running.append(item)
    try:
        yield
    finally:
        _running.pop()


def require(marker: str) -> None:
    """Fail the running test, if any, unless it carries `marker`."""
    if _running and _running[-1].get_closest_marker(marker) is None:
        pytest.fail(f"{_running[-1].nodeid} uses {marker} without @pytest.mark.{marker}", pytrace=False)
