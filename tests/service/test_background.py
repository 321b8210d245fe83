"""Background tasks stop at shutdown even when a cancellation is lost (`service.background`)."""

from __future__ import annotations

import asyncio
import time

from service import background


async def _poll_swallowing_first_cancel(polls: list[int]) -> None:
    """A watch loop whose first cancellation lands in a call that turns it into a time-out, which
    the loop survives by design (what redis-py did when its own time-out fired at that moment)."""
    swallowed = False
    while True:
        try:
            await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            if swallowed:
                raise
            swallowed = True  # reported as a failed poll: the loop goes on
            asyncio.current_task().uncancel()  # type: ignore[union-attr]
        polls.append(1)


def test_a_task_that_lost_its_first_cancellation_is_stopped() -> None:
    async def scenario() -> tuple[bool, bool]:
        polls: list[int] = []
        task = asyncio.create_task(_poll_swallowing_first_cancel(polls))
        await asyncio.sleep(0.05)
        task.cancel()  # what shutdown used to do, once, before awaiting the task forever
        await asyncio.sleep(0.05)
        still_running = not task.done()
        return still_running, await background.stop(task, timeout_s=2.0)

    still_running, stopped = asyncio.run(scenario())
    assert still_running  # one cancel was not enough: the old shutdown hung here
    assert stopped


def test_a_task_that_never_ends_is_given_up_on_in_bounded_time() -> None:
    async def stubborn() -> None:
        while True:
            try:
                await asyncio.sleep(1)
            except asyncio.CancelledError:
                asyncio.current_task().uncancel()  # type: ignore[union-attr]

    async def scenario() -> bool:
        task = asyncio.create_task(stubborn())
        await asyncio.sleep(0)
        try:
            return await background.stop(task, timeout_s=0.6)
        finally:
            task.get_loop().call_soon(lambda: None)

    start = time.monotonic()
    loop = asyncio.new_event_loop()
    try:
        assert loop.run_until_complete(scenario()) is False
    finally:
        for task in asyncio.all_tasks(loop):
            task.cancel()
        loop.close()
    assert time.monotonic() - start < 3.0


def test_an_ordinary_task_stops_at_the_first_cancel() -> None:
    async def scenario() -> tuple[bool, bool]:
        task = asyncio.create_task(asyncio.sleep(60))
        await asyncio.sleep(0)
        stopped = await background.stop(task)
        return stopped, task.cancelled()

    assert asyncio.run(scenario()) == (True, True)
