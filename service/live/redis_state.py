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
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import redis.asyncio as aioredis

from models import contract
from models.events import Event
from service.live.state import LivePolicy, LiveSnapshot, LiveState, Recorded, Shown
from service.store import StoreUnavailableError

Guard = Callable[[Awaitable[Any]], Awaitable[Any]]

_SHOWN = """
local function shown_parts(raw)
  if not raw then return nil end
  local since, count, source, section = string.match(raw, '^([^|]*)|([^|]*)|([^|]*)|(.*)$')
  return tonumber(since), tonumber(count), source, section
end
"""

# KEYS 1-6: the customer's live keys (contract.LIVE_PARTS order); 7 stream; 8 counters;
# 9 item returns; 10 item complaints.
# ARGV: customer, dismiss_ms, window_ms, negative_keep, ttl_s, now_ms, then per event:
# type, item, ts_ms, quantity, section ('' = none), segment.
_APPLY = _SHOWN + """
local dismiss, window, keep, ttl, now = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5], ARGV[6]
local out = {}
for b = 7, #ARGV, 6 do
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
    if typ == 'return' then redis.call('HINCRBY', KEYS[9], item, 1) else redis.call('HINCRBY', KEYS[10], item, 1) end
  end
  if typ == 'impression' then
    if since == nil or ts - since > window then since = ts; count = 0 end
    redis.call('HSET', KEYS[5], item, string.format('%d|%d|%s|%s', since, count + 1, source, section))
  elseif since ~= nil and (typ == 'purchase' or typ == 'click' or typ == 'add_to_cart') then
    redis.call('HSET', KEYS[5], item, string.format('%d|0|%s|%s', since, source, section))
  end
  local id = redis.call('XADD', KEYS[7], '*', 'customer_id', ARGV[1], 'item_id', item, 'type', typ,
                        'ts', ARGV[b+2], 'quantity', qty, 'section', given)
  redis.call('HINCRBY', KEYS[8], typ .. '|' .. source .. '|' .. section .. '|' .. segment, 1)
  out[#out + 1] = {id, source, section}
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. now)
for i = 1, 5 do redis.call('EXPIRE', KEYS[i], ttl) end
return out
"""

# KEYS: shown, counters. ARGV: now_ms, window_ms, source, section, segment, ttl_s, items...
_IMPRESSIONS = _SHOWN + """
local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])
for i = 7, #ARGV do
  local since, count = shown_parts(redis.call('HGET', KEYS[1], ARGV[i]))
  if since == nil or now - since > window then since = now; count = 0 end
  redis.call('HSET', KEYS[1], ARGV[i], string.format('%d|%d|%s|%s', since, count + 1, ARGV[3], ARGV[4]))
end
redis.call('HINCRBY', KEYS[2], 'impression|' .. ARGV[3] .. '|' .. ARGV[4] .. '|' .. ARGV[5], #ARGV - 6)
redis.call('EXPIRE', KEYS[1], ARGV[6])
if redis.call('HLEN', KEYS[1]) > 512 then
  local all = redis.call('HGETALL', KEYS[1])
  for j = 1, #all, 2 do
    local since = shown_parts(all[j + 1])
    if since == nil or now - since > window then redis.call('HDEL', KEYS[1], all[j]) end
  end
end
return #ARGV - 6
"""

# KEYS: contact. ARGV: now_ms, min_interval_ms, ttl_s.
_CLAIM_CONTACT = """
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
        shared = [contract.EVENTS_STREAM, contract.FEEDBACK_COUNTS_KEY, contract.ITEM_RETURNS_KEY,
                  contract.ITEM_COMPLAINTS_KEY]
        async with self.client.pipeline(transaction=True) as pipe:
            for customer, positions in by_customer.items():
                args: list[str | int] = [customer, p.dismiss_ms, p.cap_window_ms, p.negative_keep, p.ttl_s, now_ms]
                for n in positions:
                    e = events[n]
                    args += [e.type, e.item_id, e.ts_ms, e.quantity, e.section or "", segments[n]]
                await self._apply(keys=contract.live_keys(customer) + shared, args=args, client=pipe)
            replies = await self._call(pipe.execute())
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
        keys = [contract.live_key(customer_id, "shown"), contract.FEEDBACK_COUNTS_KEY]
        args: list[str | int] = [now_ms, self.policy.cap_window_ms, source, section, segment, self.policy.ttl_s,
                                 *item_ids]
        await self._call(self._impressions(keys=keys, args=args))

    async def snapshot(self, customer_id: str, now_ms: int) -> LiveSnapshot:
        bought, recent, suppressed, negative, shown, contact = contract.live_keys(customer_id)
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
        keys = [contract.live_key(customer_id, "contact")]
        last = await self._call(self._claim(keys=keys, args=[now_ms, min_interval_ms, self.policy.ttl_s]))
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


async def _translate_errors(coro: Awaitable[Any]) -> Any:
    try:
        return await coro
    except (aioredis.RedisError, OSError) as exc:
        raise StoreUnavailableError(f"redis live state: {exc}") from exc


def _counts(raw: dict[bytes, bytes]) -> dict[str, int]:
    return {k.decode(): int(v) for k, v in raw.items()}

