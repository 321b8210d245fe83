"""Live state in Redis: one Lua script per customer applies events and appends them to the log.

On one Redis the script updates the customer's keys and XADDs each event to the log in one
atomic step, so the log and the state always agree and concurrent events for one customer are
serialised by Redis (no read-modify-write in Python, no lost update). A batch runs its
per-customer scripts inside one MULTI/EXEC: every event of a valid batch is applied, or none.
On a Redis Cluster a customer's keys share a hash tag (one shard) and the log and its counters
share `{events}` (another): each customer's script runs on their shard, then one script logs the
batch (see `_record_on_cluster`).
The scripts are in `service.live.scripts`; impressions are written by `service.live.impressions`,
which the hot path uses too. Every call goes through the offer store's `RedisGuard`.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, cast

import redis.asyncio as aioredis
from redis.exceptions import NoScriptError, ResponseError

from models import contract
from models.contract.events import NEGATIVE_TYPES, Event, LoggedEvent, from_stream
from service.core.deny_list import CustomerForgottenError
from service.live.impressions import ImpressionsWriter, MissingScriptError, encode_impressions
from service.live.scripts import APPLY, CLAIM_CONTACT, LOG
from service.live.state import Impressions, LivePolicy, LiveSnapshot, LiveState, Recorded, Shown
from service.live.view import snapshot_from_view
from service.storage.guard import RedisGuard, StoreUnavailableError
from service.storage.redis_client import is_cluster_client

LOG_KEYS = [
    contract.EVENTS_STREAM,
    contract.FEEDBACK_COUNTS_KEY,
    contract.ITEM_RETURNS_KEY,
    contract.ITEM_COMPLAINTS_KEY,
]
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
        self._log = client.register_script(LOG)
        self._claim = client.register_script(CLAIM_CONTACT)
        self.cluster = is_cluster_client(client)

    async def record(self, events: Sequence[Event], segments: Sequence[str], now_ms: int) -> list[Recorded]:
        by_customer: dict[str, list[int]] = defaultdict(list)
        for n, e in enumerate(events):
            by_customer[e.customer_id].append(n)
        if self.cluster:
            replies = await self._record_on_cluster(events, segments, by_customer, now_ms)
        else:
            replies = await self._record_atomically(events, segments, by_customer, now_ms)
        out: list[Recorded | None] = [None] * len(events)
        for positions, reply in zip(by_customer.values(), replies, strict=True):
            for n, (event_id, source, section) in zip(positions, reply, strict=True):
                out[n] = Recorded(_text(event_id), _text(source), _text(section))
        return [r for r in out if r is not None]

    def _apply_args(
        self, events: Sequence[Event], segments: Sequence[str], customer: str, positions: list[int], now_ms: int
    ) -> list[str | int]:
        p = self.policy
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
        return args

    async def _record_atomically(
        self, events: Sequence[Event], segments: Sequence[str], by_customer: dict[str, list[int]], now_ms: int
    ) -> list[list[list[bytes]]]:
        """One Redis: every customer's script, each applying and logging its events, in one
        MULTI/EXEC that the deny list is watched for."""
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
                        keys = [*contract.live_keys(customer), contract.forgotten_marker_key(customer), *LOG_KEYS]
                        args = self._apply_args(events, segments, customer, positions, now_ms)
                        await self._apply(keys=keys, args=args, client=pipe)
                    return await self.guard(pipe.execute())  # type: ignore[no-any-return]
                except aioredis.WatchError:
                    continue

    async def _record_on_cluster(
        self, events: Sequence[Event], segments: Sequence[str], by_customer: dict[str, list[int]], now_ms: int
    ) -> list[list[list[bytes]]]:
        """A cluster: each customer's script on their shard (it refuses a forgotten customer by
        their marker), then one script logs every event on the log's shard, then the markers are
        read again: an erasure that ran in between has its events taken out of the log here
        (its own scan of the log may have run before they were added). A batch is applied per
        customer, so an outage half-way leaves the customers before it applied (the caller got
        503 and sends the batch again)."""
        customers = list(by_customer)
        denied = await self.guard(self.client.smismember(contract.FORGOTTEN_KEY, customers))
        if any(denied):
            raise CustomerForgottenError([c for c, d in zip(customers, denied) if d])

        def scripts() -> Any:
            pipe = self.client.pipeline(transaction=False)
            for customer, positions in by_customer.items():
                keys = [*contract.live_keys(customer), contract.forgotten_marker_key(customer)]
                args = self._apply_args(events, segments, customer, positions, now_ms)
                pipe.execute_command("EVALSHA", self._apply.sha, len(keys), *keys, *args)
            return pipe

        applied = await self._run_scripts(scripts, APPLY)
        logged: list[str | int] = []
        for (customer, positions), reply in zip(by_customer.items(), applied, strict=True):
            for n, (_, source, section) in zip(positions, reply, strict=True):
                e = events[n]
                logged += [
                    customer,
                    e.type,
                    e.item_id,
                    e.ts_ms,
                    e.quantity,
                    e.section or "",
                    source,
                    section,
                    segments[n],
                ]
        ids = iter(await self.guard(self._log(keys=LOG_KEYS, args=logged)))
        replies = [[[next(ids), source, section] for _, source, section in reply] for reply in applied]
        markers = await self.guard(self.client.exists(*(contract.forgotten_marker_key(c) for c in customers)))
        if markers:
            await self._take_back(customers, replies)
        return replies

    async def _run_scripts(self, scripts: Callable[[], Any], source: str) -> list[Any]:
        """The pipeline of EVALSHAs `scripts` builds (again with the script loaded if a node
        lacked it); a customer's script refusing them (their forgotten marker) refuses the batch."""
        replies = await self.guard(scripts().execute(raise_on_error=False))
        if any(isinstance(r, NoScriptError) for r in replies):
            await self.guard(self.client.script_load(source))
            replies = await self.guard(scripts().execute(raise_on_error=False))
        refused = [
            str(r).split()[-1] for r in replies if isinstance(r, ResponseError) and str(r).startswith("FORGOTTEN")
        ]
        if refused:
            raise CustomerForgottenError(refused)
        errors = [r for r in replies if isinstance(r, Exception)]
        if errors:
            raise StoreUnavailableError(f"events not recorded: {errors[0]!r}")
        return replies  # type: ignore[no-any-return]

    async def _take_back(self, customers: list[str], replies: list[list[list[Any]]]) -> None:
        """Events of customers forgotten while they were recorded: out of the log again, refused."""
        found = await self.guard(
            asyncio.gather(*(self.client.exists(contract.forgotten_marker_key(c)) for c in customers))
        )
        gone = [c for c, f in zip(customers, found) if f]
        ids = [r[0] for c, reply in zip(customers, replies) if c in gone for r in reply]
        await self.guard(self.client.xdel(contract.EVENTS_STREAM, *ids))
        raise CustomerForgottenError(gone)

    async def record_impressions(self, shown: Impressions, now_ms: int) -> None:
        if not shown.item_ids:
            return
        commands = self.impressions.commands([(shown, encode_impressions(shown))], now_ms)
        for _ in range(2):  # again, the script calls with its source, if Redis had lost it
            pipe = self.client.pipeline(transaction=False)
            for command in commands:
                pipe.execute_command(*command)
            replies = await self.guard(pipe.execute(raise_on_error=False))
            error = self.impressions.settle(commands, replies)
            if not isinstance(error, MissingScriptError):
                break
            commands = self.impressions.again(commands, replies)
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
            # a page spans many slots: on a cluster, one MGET per slot (redis-py splits it)
            mget = cast(Any, self.client).mget_nonatomic if self.cluster else self.client.mget
            views = await self.guard(mget(page))
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
        keys = [contract.live_key(customer_id, "contact"), contract.forgotten_marker_key(customer_id)]
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


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


def _counts(raw: dict[bytes, bytes]) -> dict[str, int]:
    return {k.decode(): int(v) for k, v in raw.items()}
