from __future__ import annotations

import pytest

from service.storage.breaker import CircuitBreaker, CircuitOpenError


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def breaker(clock: Clock) -> CircuitBreaker:
    return CircuitBreaker(base_s=1.0, max_s=4.0, clock=clock, jitter=lambda: 1.0)


def test_closed_breaker_lets_calls_through() -> None:
    b = breaker(Clock())
    b.before_call()
    b.success()
    assert not b.is_open


def test_failure_opens_until_backoff_then_one_probe() -> None:
    clock = Clock()
    b = breaker(clock)
    b.failure()
    with pytest.raises(CircuitOpenError):
        b.before_call()
    clock.now += 1.0
    b.before_call()  # the probe
    with pytest.raises(CircuitOpenError):
        b.before_call()  # only one probe at a time
    b.success()
    b.before_call()
    assert not b.is_open


def test_backoff_doubles_and_is_capped() -> None:
    clock = Clock()
    b = breaker(clock)
    for expected in (1.0, 2.0, 4.0, 4.0):
        b.failure()
        assert b.open_until - clock.now == pytest.approx(expected)
