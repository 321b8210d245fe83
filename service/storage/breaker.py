"""A circuit breaker for the Redis connection.

When Redis is down or slow, trying it on every request would add a timeout to every answer
and hammer it with reconnects the moment it returns. Instead, after a failure the breaker
opens: calls fail at once (the caller answers from its fallback) until a back-off has passed;
then exactly one call probes Redis (half-open). Success closes the breaker; failure doubles
the back-off (with jitter, capped), so many service processes do not reconnect in lock-step.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable


class CircuitOpenError(RuntimeError):
    """Redis is considered down; not tried."""


class CircuitBreaker:
    def __init__(
        self,
        base_s: float = 0.25,
        max_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.base_s, self.max_s = base_s, max_s
        self.clock, self.jitter = clock, jitter
        self.failures = 0
        self.open_until = 0.0
        self.probing = False

    @property
    def is_open(self) -> bool:
        return self.failures > 0

    def before_call(self) -> None:
        """Raise `CircuitOpenError` unless this call may go to Redis."""
        if self.failures == 0:
            return
        if self.probing or self.clock() < self.open_until:
            raise CircuitOpenError("redis is marked down; retrying after back-off")
        self.probing = True  # half-open: this call is the single probe

    def success(self) -> None:
        self.failures = 0
        self.probing = False

    def failure(self) -> None:
        self.failures += 1
        self.probing = False
        backoff = min(self.max_s, self.base_s * 2 ** (self.failures - 1))
        self.open_until = self.clock() + backoff * (0.5 + self.jitter() / 2)
