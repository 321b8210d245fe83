"""Stopping the service's background tasks at shutdown, in bounded time.

A single `task.cancel()` can be lost: when the cancellation reaches a Redis call at the moment
that call's own time-out fires, the client raises a time-out instead of `CancelledError`, and
the watch loops (`service.reload`, `service.core.business_rules`) survive a failed poll by
design, so they go on polling and `await task` never returns: the service hung at shutdown
(seen in the suite, with Redis made slow or a cluster primary killed). So the cancellation is
repeated until the task ends, and shutdown gives up on it after `timeout_s` instead of hanging.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

log = logging.getLogger(__name__)
RETRY_S = 0.25


async def stop(task: asyncio.Task[Any], timeout_s: float = 5.0) -> bool:
    """Cancel `task` until it has ended; False (logged) if it still runs after `timeout_s`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=min(RETRY_S, max(0.0, deadline - loop.time())))
        if loop.time() >= deadline and not task.done():
            log.warning("background task %s did not stop within %.1f s; shutting down without it", task, timeout_s)
            return False
    with contextlib.suppress(asyncio.CancelledError):
        exc = task.exception()
        if exc is not None:
            log.warning("background task %s ended with %r", task, exc)
    return True
