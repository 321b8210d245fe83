"""A token bucket per API key for writes and admin calls (and, for publishable keys, per client IP).

Each key may make `burst` requests at once and `rate_per_s` on average; past that a request is
refused with 429 and `Retry-After` (when the next token arrives) instead of queueing, so one
misbehaving client cannot slow the others or flood the event log. Per process: with N workers a
key gets N times the rate, which is why the limits are settings. A limiter remembers at most
`max_tracked` buckets (client IPs are many): past that, the full ones are dropped, which loses
nothing, since a new bucket starts full.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class TokenBucket:
    tokens: float
    updated: float

    def take(self, now: float, rate_per_s: float, burst: int) -> float:
        """Take a token; returns 0 when granted, else the seconds until one is available."""
        self.tokens = min(float(burst), self.tokens + (now - self.updated) * rate_per_s)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / rate_per_s


MAX_TRACKED = 100_000


class RateLimiter:
    def __init__(
        self, rate_per_s: float, burst: int, clock: Callable[[], float] = time.monotonic, max_tracked: int = MAX_TRACKED
    ) -> None:
        self.rate_per_s, self.burst, self.clock, self.max_tracked = rate_per_s, burst, clock, max_tracked
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()  # sync dependencies may run on the thread pool

    def wait_s(self, key_id: str) -> float:
        """0 if `key_id` may go ahead now (and a token is spent), else how long to wait."""
        now = self.clock()
        with self._lock:
            if key_id not in self._buckets and len(self._buckets) >= self.max_tracked:
                self._drop_full(now)
            bucket = self._buckets.setdefault(key_id, TokenBucket(float(self.burst), now))
            return bucket.take(now, self.rate_per_s, self.burst)

    def _drop_full(self, now: float) -> None:
        full = [k for k, b in self._buckets.items() if b.tokens + (now - b.updated) * self.rate_per_s >= self.burst]
        for key_id in full or list(self._buckets)[: len(self._buckets) // 2]:
            del self._buckets[key_id]

    def tracked(self) -> int:
        return len(self._buckets)


def retry_after(wait_s: float) -> str:
    """`Retry-After` is whole seconds; round up so a client that obeys it gets through."""
    return str(max(1, math.ceil(wait_s)))
