"""Live state in Redis: one Lua script per customer applies events and appends them to the log.

The script updates the customer's keys and XADDs each event to the `mo:events` stream in one
atomic step, so the log and the state always agree and concurrent events for one customer are
serialised by Redis (no read-modify-write in Python, no lost update). A batch runs its
per-customer scripts inside one MULTI/EXEC: every event of a valid batch is applied, or none.

Cluster note: a customer's keys share a hash tag, but the stream and the counters are global
keys, so these scripts need a single Redis (or a proxy that keeps them on one node).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import redis.asyncio as aioredis

from models import contract
from models.contract.events import Event, LoggedEvent, from_stream
from service.core.deny_list import CustomerForgottenError
from service.live.state import Impressions, LivePolicy, LiveSnapshot, LiveState, Recorded, Shown
from service.live.view import snapshot_from_view
from service.storage.stores import StoreUnavailableError

Guard = Callable[[Awaitable[Any]], Awaitable[Any]]
STREAM_PAGE = 2000  # entries per XRANGE while scanning the log for one customer

_SHOWN = """
local function shown_parts(raw)
  if not raw then return nil end
  local since, count, source, section = string.match(raw, '^([^|]*)|([^|]*)|([^|]*)|(.*)$')
  return tonumber(since), tonumber(count), source, section
end
"""

# Rebuild a customer's overlay view (contract.LIVE_PARTS "view"): what `apply_live` needs, as one
# string, so a request reads one key instead of five. k: the customer's live keys in LIVE_PARTS
# order. Only items at or over the impression cap are copied from `shown`, with the start of
# their window (the others cannot change an answer). The view expires with the event parts it summarises.
_VIEW = r"""
local function rebuild_view(k, cap, ttl)
  local b = redis.call('HGETALL', k[1])
  local r = redis.call('ZRANGE', k[2], 0, -1, 'WITHSCORES')
  local s = redis.call('ZRANGE', k[3], 0, -1, 'WITHSCORES')
  local n = redis.call('ZREVRANGE', k[4], 0, -1)
  local sh = redis.call('HGETALL', k[5])
  local c = {}
  for j = 1, #sh, 2 do
    local _, count = shown_parts(sh[j + 1])
    if count ~= nil and count >= cap then c[#c + 1] = sh[j]; c[#c + 1] = string.match(sh[j + 1], '^([^|]*)') end
  end
  if #b + #r + #s + #n + #c == 0 then redis.call('DEL', k[7]); return end
  local view = cjson.encode({b = b, r = r, s = s, n = n, c = c})
  for i = 1, 4 do
    local left = redis.call('PTTL', k[i])
    if left > 0 then redis.call('SET', k[7], view, 'PX', left); return end
  end
  redis.call('SET', k[7], view, 'EX', ttl)
end
"""

# KEYS 1-7: the customer's live keys (contract.LIVE_PARTS order); 8 stream; 9 counters;
# 10 item returns; 11 item complaints.
# ARGV: customer, dismiss_ms, window_ms, negative_keep, ttl_s, now_ms, cap, then per event:
# type, item, ts_ms, quantity, section ('' = none), segment.
_APPLY = (
    _SHOWN
    + _VIEW
    + """
local dismiss, window, keep, ttl, now = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5], ARGV[6]
local out = {}
for b = 8, #ARGV, 6 do
  local typ, item, ts, qty, given, segment = ARGV[b], ARGV[b+1], tonumber(ARGV[b+2]), ARGV[b+3], ARGV[b+4], ARGV[b+5]
  local since, count, source, last_section = shown_parts(redis.call('HGET', KEYS[5], item))
  source = source or 'none'
  local section = given
  if section == '' then section = last_section or 'none' end
  if typ == 'purchase' then
    redis.call('HINCRBY', KEYS[1], item, 1)
    redis.call('ZADD', KEYS[2], 'GT', ts, item)
  elseif typ == 'dismiss' then
    redis.call('ZADD', KEYS[3], 'GT', ts + dismiss, item)
  elseif typ == 'return' or typ == 'complaint' then
    redis.call('ZADD', KEYS[3], 'GT', '+inf', item)
    redis.call('ZADD', KEYS[4], ts, item)
    redis.call('ZREMRANGEBYRANK', KEYS[4], 0, -(keep + 1))
    if typ == 'return' then redis.call('HINCRBY', KEYS[10], item, 1) else redis.call('HINCRBY', KEYS[11], item, 1) end
  end
  if typ == 'impression' then
    if since == nil or ts - since > window then since = ts; count = 0 end
    redis.call('HSET', KEYS[5], item, string.format('%d|%d|%s|%s', since, count + 1, source, section))
  elseif since ~= nil and (typ == 'purchase' or typ == 'click' or typ == 'add_to_cart') then
    redis.call('HSET', KEYS[5], item, string.format('%d|0|%s|%s', since, source, section))
  end
  local id = redis.call('XADD', KEYS[8], '*', 'customer_id', ARGV[1], 'item_id', item, 'type', typ,
                        'ts', ARGV[b+2], 'quantity', qty, 'section', given)
  redis.call('HINCRBY', KEYS[9], typ .. '|' .. source .. '|' .. section .. '|' .. segment, 1)
  out[#out + 1] = {id, source, section}
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. now)
for i = 1, 5 do redis.call('EXPIRE', KEYS[i], ttl) end
rebuild_view({KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]}, tonumber(ARGV[7]), ttl)
return out
"""
)

# Impressions of many customers in one call (the hot path sends one per loop tick).
# KEYS: counters, the deny list (a forgotten customer's impressions are not written).
# ARGV: now_ms, window_ms, cap, ttl_s, live key prefix, then one string per
# customer: customer, source, section, segment, impressions of already capped items (counted,
# not written), items..., joined by "\31" (none of them can hold it). Keys are built here from
# the prefix, as `contract.live_key` builds them, so a tick's call is one argument per customer,
# not seven keys and a dozen arguments.
_IMPRESSIONS = (
    _SHOWN
    + _VIEW
    + """
local now, window, cap, ttl, prefix = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], ARGV[5]
local parts = {'bought', 'recent', 'suppressed', 'negative', 'shown', 'contact', 'view'}
local total = 0
for a = 6, #ARGV do
  local f = {}
  for field in string.gmatch(ARGV[a], '[^\\031]+') do f[#f + 1] = field end
  local source, section, segment, capped = f[2], f[3], f[4], tonumber(f[5])
  if redis.call('SISMEMBER', KEYS[2], f[1]) == 0 then
  local k = {}
  for i, part in ipairs(parts) do k[i] = prefix .. '{' .. f[1] .. '}:' .. part end
  local crossed = false
  for i = 6, #f do
    local since, count = shown_parts(redis.call('HGET', k[5], f[i]))
    if since == nil or now - since > window then since = now; count = 0 end
    count = count + 1
    if count == cap then crossed = true end
    redis.call('HSET', k[5], f[i], string.format('%d|%d|%s|%s', since, count, source, section))
  end
  redis.call('HINCRBY', KEYS[1], 'impression|' .. source .. '|' .. section .. '|' .. segment, #f - 5 + capped)
  if #f > 5 then redis.call('EXPIRE', k[5], ttl) end
  if redis.call('HLEN', k[5]) > 512 then
    local all = redis.call('HGETALL', k[5])
    for j = 1, #all, 2 do
      local since = shown_parts(all[j + 1])
      if since == nil or now - since > window then redis.call('HDEL', k[5], all[j]) end
    end
  end
  if crossed then rebuild_view(k, cap, ttl) end
  total = total + #f - 5 + capped
  end
end
return total
"""
)
IMPRESSIONS_SCRIPT = _IMPRESSIONS
FIELD_SEPARATOR = "\x1f"

# KEYS: contact, the deny list. ARGV: now_ms, min_interval_ms, ttl_s, customer.
_CLAIM_CONTACT = """
if redis.call('SISMEMBER', KEYS[2], ARGV[4]) == 1 then return -1 end
local last = redis.call('GET', KEYS[1])
if last and tonumber(ARGV[1]) - tonumber(last) < tonumber(ARGV[2]) then return last end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
return false
"""


class RedisLiveState(LiveState):
    kind = "redis"

    def __init__(self, client: aioredis.Redis, policy: LivePolicy, guard: Guard | None = None) -> None:
        """`guard` runs every Redis call (the offer store's, so both share one view of Redis'
        health); by default errors just become `StoreUnavailableError`."""
        super().__init__(policy)
        self.client = client
        self._guard = guard or _translate_errors
        self._apply = client.register_script(_APPLY)
        self._impressions = client.register_script(_IMPRESSIONS)
        self._claim = client.register_script(_CLAIM_CONTACT)

    async def _call(self, coro: Awaitable[Any]) -> Any:
        return await self._guard(coro)

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
                    await self._call(pipe.watch(contract.FORGOTTEN_KEY))
                    denied = await self._call(pipe.smismember(contract.FORGOTTEN_KEY, customers))
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
                    replies = await self._call(pipe.execute())
                    break
                except aioredis.WatchError:
                    continue
        out: list[Recorded | None] = [None] * len(events)
        for positions, reply in zip(by_customer.values(), replies, strict=True):
            for n, (event_id, source, section) in zip(positions, reply, strict=True):
                out[n] = Recorded(event_id.decode(), source.decode(), section.decode())
        return [r for r in out if r is not None]

    async def record_impressions(
        self, customer_id: str, item_ids: Sequence[str], source: str, section: str, segment: str, now_ms: int
    ) -> None:
        if not item_ids:
            return
        shown = Impressions(customer_id, tuple(item_ids), source, section, segment)
        keys, args = self.impressions_call([encode_impressions(shown)], now_ms)
        await self._call(self._impressions(keys=keys, args=args))

    def impressions_call(self, encoded: Sequence[str], now_ms: int) -> tuple[list[str], list[str | int]]:
        """KEYS and ARGV of one impressions script call for many customers' `encode_impressions`."""
        p = self.policy
        args: list[str | int] = [now_ms, p.cap_window_ms, p.cap_impressions, p.ttl_s, contract.LIVE_PREFIX, *encoded]
        return [contract.FEEDBACK_COUNTS_KEY, contract.FORGOTTEN_KEY], args

    async def overlay(self, customer_id: str, now_ms: int) -> LiveSnapshot:
        raw = await self._call(self.client.get(contract.live_key(customer_id, "view")))
        return snapshot_from_view(raw, now_ms)

    async def overlays(self, now_ms: int) -> list[tuple[str, LiveSnapshot]]:
        prefix, suffix = contract.live_key("\x00", "view").split("\x00")
        keys = [key async for key in self.client.scan_iter(match=f"{prefix}*{suffix}", count=5000)]
        out: list[tuple[str, LiveSnapshot]] = []
        for start in range(0, len(keys), STREAM_PAGE):
            page = keys[start : start + STREAM_PAGE]
            views = await self._call(self.client.mget(page))
            out += [
                (key.decode()[len(prefix) : -len(suffix)], snapshot_from_view(raw, now_ms))
                for key, raw in zip(page, views)
                if raw
            ]
        return out

    async def snapshot(self, customer_id: str, now_ms: int) -> LiveSnapshot:
        bought, recent, suppressed, negative, shown, contact, _view = contract.live_keys(customer_id)
        pipe = self.client.pipeline(transaction=False)
        pipe.hgetall(bought)
        pipe.zrange(recent, 0, -1, withscores=True)
        pipe.zrangebyscore(suppressed, f"({now_ms}", "+inf")
        pipe.zrevrange(negative, 0, -1)
        pipe.hgetall(shown)
        pipe.get(contact)
        counts, times, active, negatives, shown_raw, last = await self._call(pipe.execute())
        last_ms = {item.decode(): int(ms) for item, ms in times}
        return LiveSnapshot(
            purchases={item.decode(): (int(n), last_ms.get(item.decode(), 0)) for item, n in counts.items()},
            suppressed=frozenset(item.decode() for item in active),
            negative=tuple(item.decode() for item in negatives),
            shown={item.decode(): Shown.decode(raw.decode()) for item, raw in shown_raw.items()},
            last_contact_ms=int(last) if last is not None else None,
        )

    async def claim_contact(self, customer_id: str, now_ms: int, min_interval_ms: int) -> int | None:
        keys = [contract.live_key(customer_id, "contact"), contract.FORGOTTEN_KEY]
        last = await self._call(self._claim(keys=keys, args=[now_ms, min_interval_ms, self.policy.ttl_s, customer_id]))
        if last == -1:
            raise CustomerForgottenError([customer_id])
        return int(last) if last is not None else None

    async def feedback_counts(self) -> dict[str, int]:
        raw = await self._call(self.client.hgetall(contract.FEEDBACK_COUNTS_KEY))
        return {k.decode(): int(v) for k, v in raw.items()}

    async def item_feedback(self) -> dict[str, dict[str, int]]:
        pipe = self.client.pipeline(transaction=False)
        pipe.hgetall(contract.ITEM_RETURNS_KEY)
        pipe.hgetall(contract.ITEM_COMPLAINTS_KEY)
        returns, complaints = await self._call(pipe.execute())
        return {"return": _counts(returns), "complaint": _counts(complaints)}

    async def customer_events(self, customer_id: str) -> list[LoggedEvent]:
        return [from_stream(event_id, fields) async for event_id, fields in self._entries_of(customer_id)]

    async def forget(self, customer_id: str) -> int:
        await self._call(self.client.delete(*contract.live_keys(customer_id)))
        ids = [event_id async for event_id, _ in self._entries_of(customer_id)]
        for start in range(0, len(ids), STREAM_PAGE):
            await self._call(self.client.xdel(contract.EVENTS_STREAM, *ids[start : start + STREAM_PAGE]))
        # Again: an event recorded while the log was scanned was removed from the log above, so
        # its effect on the state goes too; anything later is a new event, kept in both.
        await self._call(self.client.delete(*contract.live_keys(customer_id)))
        return len(ids)

    async def _entries_of(self, customer_id: str) -> AsyncIterator[tuple[bytes, dict[bytes, bytes]]]:
        """The stream entries of one customer, paging through the whole log."""
        wanted, start = customer_id.encode(), "-"
        while True:
            page = await self._call(self.client.xrange(contract.EVENTS_STREAM, min=start, max="+", count=STREAM_PAGE))
            for event_id, fields in page:
                if fields.get(b"customer_id") == wanted:
                    yield event_id, fields
            if len(page) < STREAM_PAGE:
                return
            start = f"({page[-1][0].decode()}"


def encode_impressions(shown: Impressions) -> str:
    """One customer's argument of the impressions script (the hot path keeps it with a cached
    answer, so a repeated answer costs no encoding)."""
    written = (i for i in shown.item_ids if i not in shown.capped)
    return FIELD_SEPARATOR.join(
        (shown.customer_id, shown.source, shown.section, shown.segment, str(len(shown.capped)), *written)
    )


async def _translate_errors(coro: Awaitable[Any]) -> Any:
    try:
        return await coro
    except (aioredis.RedisError, OSError) as exc:
        raise StoreUnavailableError(f"redis live state: {exc}") from exc


def _counts(raw: dict[bytes, bytes]) -> dict[str, int]:
    return {k.decode(): int(v) for k, v in raw.items()}
