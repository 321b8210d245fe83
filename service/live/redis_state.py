"""Live state in Redis: one Lua script per customer applies events and appends them to the log.

The script updates the customer's keys and XADDs each event to the `mo:events` stream in one
atomic step, so the log and the state always agree and concurrent events for one customer are
serialised by Redis (no read-modify-write in Python, no lost update). A batch runs its
per-customer scripts inside one MULTI/EXEC: every event of a valid batch is applied, or none.
The scripts are in `service.live.scripts`; impressions are written by `service.live.impressions`,
which the hot path uses too. Every call goes through the offer store's `RedisGuard`.

Cluster note: a customer's keys share a hash tag, but the stream and the counters are global
keys, so these scripts need a single Redis (or a proxy that keeps them on one node).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Sequence

import redis.asyncio as aioredis

from models import contract
from models.contract.events import NEGATIVE_TYPES, Event, LoggedEvent, from_stream
from service.core.deny_list import CustomerForgottenError
from service.live.impressions import ImpressionsWriter, MissingScriptError, encode_impressions
from service.live.scripts import APPLY, CLAIM_CONTACT
from service.live.state import Impressions, LivePolicy, LiveSnapshot, LiveState, Recorded, Shown
from service.live.view import snapshot_from_view
from service.storage.guard import RedisGuard, StoreUnavailableError

STREAM_PAGE = 2000  # entries per XRANGE while scanning the log for one customer
NEGATIVE_SCAN = 50_000  # newest log entries searched for the complaints page


class RedisLiveState(LiveState):
    kind = "redis"

    def __init__(self, client: aioredis.Redis, policy: LivePolicy, guard: RedisGuard | None = None) -> None:
        """`guard` runs every Redis call: the offer store's, so both share one view of Redis'
        health (a tool without a store gets a guard of its own)."""
        super().__init__(policy)
        self.client = client
        self.guard = guard or RedisGuard()
        self.impressions = ImpressionsWriter(policy)  # the hot path records through this one too
        self._apply = client.register_script(APPLY)
        self._claim = client.register_script(CLAIM_CONTACT)

    async def record(self, events: Sequence[Event], segments: Sequence[str], now_ms: int) -> list[Recorded]:
        by_customer: dict[str, list[int]] = defaultdict(list)
        for n, e in enumerate(events):
            by_customer[e.customer_id].append(n)
        p = self.policy
        shared = [
            contract.EVENTS_STREAM,
            contract.FEEDBACK_COUNTS_KEY,
            contract.ITEM_RETURNS_KEY,
            contract.ITEM_COMPLAINTS_KEY,
        ]
        customers = list(by_customer)
        async with self.client.pipeline(transaction=True) as pipe:
            while True:
                try:
                    # The deny list is watched: an erasure committed between this check and EXEC
                    # aborts the batch (and it is checked again), so a forgotten customer's
                    # event is never applied, even when another worker forgot them.
                    await self.guard(pipe.watch(contract.FORGOTTEN_KEY))
                    denied = await self.guard(pipe.smismember(contract.FORGOTTEN_KEY, customers))
                    if any(denied):
                        await pipe.reset()
                        raise CustomerForgottenError([c for c, d in zip(customers, denied) if d])
                    pipe.multi()
                    for customer, positions in by_customer.items():
                        args: list[str | int] = [
                            customer,
                            p.dismiss_ms,
                            p.cap_window_ms,
                            p.negative_keep,
                            p.ttl_s,
                            now_ms,
                            p.cap_impressions,
                        ]
                        for n in positions:
                            e = events[n]
                            args += [e.type, e.item_id, e.ts_ms, e.quantity, e.section or "", segments[n]]
                        await self._apply(keys=contract.live_keys(customer) + shared, args=args, client=pipe)
                    replies = await self.guard(pipe.execute())
                    break
                except aioredis.WatchError:
                    continue
        out: list[Recorded | None] = [None] * len(events)
        for positions, reply in zip(by_customer.values(), replies, strict=True):
            for n, (event_id, source, section) in zip(positions, reply, strict=True):
                out[n] = Recorded(event_id.decode(), source.decode(), section.decode())
        return [r for r in out if r is not None]

    async def record_impressions(self, shown: Impressions, now_ms: int) -> None:
        if not shown.item_ids:
            return
        encoded = [(shown, encode_impressions(shown))]
        for _ in range(2):  # again, with the script's source, if Redis had lost it
            commands = self.impressions.commands(encoded, now_ms)
            pipe = self.client.pipeline(transaction=False)
            for command in commands:
                pipe.execute_command(*command)
            error = self.impressions.settle(commands, await self.guard(pipe.execute(raise_on_error=False)))
            if not isinstance(error, MissingScriptError):
                break
        if error is not None:
            raise StoreUnavailableError(f"impressions not recorded: {error}")

    async def overlay(self, customer_id: str, now_ms: int) -> LiveSnapshot:
        raw = await self.guard(self.client.get(contract.live_key(customer_id, "view")))
        return snapshot_from_view(raw, now_ms)

    async def overlays(self, now_ms: int) -> list[tuple[str, LiveSnapshot]]:
        prefix, suffix = contract.live_key("\x00", "view").split("\x00")

        async def scan() -> list[bytes]:
            return [key async for key in self.client.scan_iter(match=f"{prefix}*{suffix}", count=5000)]

        keys: list[bytes] = await self.guard(scan())  # Redis down: 503 like every other read, not a 500
        out: list[tuple[str, LiveSnapshot]] = []
        for start in range(0, len(keys), STREAM_PAGE):
            page = keys[start : start + STREAM_PAGE]
            views = await self.guard(self.client.mget(page))
            out += [
                (key.decode()[len(prefix) : -len(suffix)], snapshot_from_view(raw, now_ms))
                for key, raw in zip(page, views)
                if raw
            ]
        return out

    async def snapshot(self, customer_id: str, now_ms: int) -> LiveSnapshot:
        bought, recent, suppressed, negative, shown, contact, _view, plans = contract.live_keys(customer_id)
        pipe = self.client.pipeline(transaction=False)
        pipe.hgetall(bought)
        pipe.zrange(recent, 0, -1, withscores=True)
        pipe.zrangebyscore(suppressed, f"({now_ms}", "+inf")
        pipe.zrevrange(negative, 0, -1)
        pipe.hgetall(shown)
        pipe.get(contact)
        pipe.hgetall(plans)
        counts, times, active, negatives, shown_raw, last, plan_raw = await self.guard(pipe.execute())
        last_ms = {item.decode(): int(ms) for item, ms in times}
        return LiveSnapshot(
            purchases={item.decode(): (int(n), last_ms.get(item.decode(), 0)) for item, n in counts.items()},
            suppressed=frozenset(item.decode() for item in active),
            negative=tuple(item.decode() for item in negatives),
            shown={item.decode(): Shown.decode(raw.decode()) for item, raw in shown_raw.items()},
            last_contact_ms=int(last) if last is not None else None,
            plans={item.decode(): state.decode() for item, state in plan_raw.items()},
        )

    async def claim_contact(self, customer_id: str, now_ms: int, min_interval_ms: int) -> int | None:
        keys = [contract.live_key(customer_id, "contact"), contract.FORGOTTEN_KEY]
        last = await self.guard(self._claim(keys=keys, args=[now_ms, min_interval_ms, self.policy.ttl_s, customer_id]))
        if last == -1:
            raise CustomerForgottenError([customer_id])
        return int(last) if last is not None else None

    async def feedback_counts(self) -> dict[str, int]:
        raw = await self.guard(self.client.hgetall(contract.FEEDBACK_COUNTS_KEY))
        return {k.decode(): int(v) for k, v in raw.items()}

    async def item_feedback(self) -> dict[str, dict[str, int]]:
        pipe = self.client.pipeline(transaction=False)
        pipe.hgetall(contract.ITEM_RETURNS_KEY)
        pipe.hgetall(contract.ITEM_COMPLAINTS_KEY)
        returns, complaints = await self.guard(pipe.execute())
        return {"return": _counts(returns), "complaint": _counts(complaints)}

    async def recent_negative(self, limit: int) -> list[LoggedEvent]:
        """Pages back from the end of the log; reads at most `NEGATIVE_SCAN` entries."""
        found: list[LoggedEvent] = []
        end, scanned = "+", 0
        while len(found) < limit and scanned < NEGATIVE_SCAN:
            page = await self.guard(self.client.xrevrange(contract.EVENTS_STREAM, max=end, min="-", count=STREAM_PAGE))
            found += [from_stream(i, f) for i, f in page if f.get(b"type", b"").decode() in NEGATIVE_TYPES]
            scanned += len(page)
            if len(page) < STREAM_PAGE:
                break
            end = f"({page[-1][0].decode()}"
        return found[:limit]

    async def customer_events(self, customer_id: str) -> list[LoggedEvent]:
        return [from_stream(event_id, fields) async for event_id, fields in self._entries_of(customer_id)]

    async def forget(self, customer_id: str) -> int:
        await self.guard(self.client.delete(*contract.live_keys(customer_id)))
        ids = [event_id async for event_id, _ in self._entries_of(customer_id)]
        for start in range(0, len(ids), STREAM_PAGE):
            await self.guard(self.client.xdel(contract.EVENTS_STREAM, *ids[start : start + STREAM_PAGE]))
        # Again: an event recorded while the log was scanned was removed from the log above, so
        # its effect on the state goes too; anything later is a new event, kept in both.
        await self.guard(self.client.delete(*contract.live_keys(customer_id)))
        return len(ids)

    async def _entries_of(self, customer_id: str) -> AsyncIterator[tuple[bytes, dict[bytes, bytes]]]:
        """The stream entries of one customer, paging through the whole log."""
        wanted, start = customer_id.encode(), "-"
        while True:
            page = await self.guard(self.client.xrange(contract.EVENTS_STREAM, min=start, max="+", count=STREAM_PAGE))
            for event_id, fields in page:
                if fields.get(b"customer_id") == wanted:
                    yield event_id, fields
            if len(page) < STREAM_PAGE:
                return
            start = f"({page[-1][0].decode()}"


def _counts(raw: dict[bytes, bytes]) -> dict[str, int]:
    return {k.decode(): int(v) for k, v in raw.items()}
