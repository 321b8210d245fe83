"""A clock the test moves, for the app's `clock=` parameter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

START = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


class FixedClock:
    """Time stands still until the test moves it."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def ms(self) -> int:
        return int(self.now.timestamp() * 1000)
