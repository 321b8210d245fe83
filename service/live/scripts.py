"""The Lua scripts of the Redis live state, in one place (see `service.live.redis_state`).

Each script is one atomic step in Redis: events applied and logged, impressions counted, a
contact claimed. `APPLY` and `IMPRESSIONS` share the helpers that read an item's `shown` entry
and rebuild the customer's overlay view, so both leave the view the same way.
"""

from __future__ import annotations

import hashlib

SHOWN_PARTS = """
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
REBUILD_VIEW = r"""
local function rebuild_view(k, cap, ttl)
  local p = redis.call('HGETALL', k[8])
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
  if #b + #r + #s + #n + #c + #p == 0 then redis.call('DEL', k[7]); return end
  local view = cjson.encode({b = b, r = r, s = s, n = n, c = c, p = p})
  for _, i in ipairs({1, 2, 3, 4, 8}) do
    local left = redis.call('PTTL', k[i])
    if left > 0 then redis.call('SET', k[7], view, 'PX', left); return end
  end
  redis.call('SET', k[7], view, 'EX', ttl)
end
"""

# Append one event to the log and count it (KEYS: stream, counters, item returns, item
# complaints, all tagged `{events}`); returns the entry's id.
LOG_EVENT = """
local function log_event(k, customer, typ, item, ts, qty, given, source, section, segment)
  if typ == 'return' then redis.call('HINCRBY', k[3], item, 1) end
  if typ == 'complaint' then redis.call('HINCRBY', k[4], item, 1) end
  local id = redis.call('XADD', k[1], '*', 'customer_id', customer, 'item_id', item, 'type', typ,
                        'ts', ts, 'quantity', qty, 'section', given)
  redis.call('HINCRBY', k[2], typ .. '|' .. source .. '|' .. section .. '|' .. segment, 1)
  return id
end
"""

# KEYS 1-8: the customer's live keys (contract.LIVE_PARTS order); 9 their forgotten marker; on a
# single Redis also 10 stream, 11 counters, 12 item returns, 13 item complaints: the events are
# logged in the same atomic step. On a cluster the log lives on another shard: the script
# returns '' for ids, and `LOG` appends the events next.
# ARGV: customer, dismiss_ms, window_ms, negative_keep, ttl_s, now_ms, cap, then per event:
# type, item, ts_ms, quantity, section ('' = none), segment.
APPLY = (
    SHOWN_PARTS
    + REBUILD_VIEW
    + LOG_EVENT
    + """
if redis.call('EXISTS', KEYS[9]) == 1 then return redis.error_reply('FORGOTTEN customer ' .. ARGV[1]) end
local dismiss, window, keep, ttl, now = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5], ARGV[6]
local logged = #KEYS >= 13
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
  elseif typ == 'subscribe' then
    redis.call('HSET', KEYS[8], item, 'subscribed')
  elseif typ == 'unsubscribe' then
    redis.call('HSET', KEYS[8], item, 'unsubscribed')
  end
  if typ == 'impression' then
    if since == nil or ts - since > window then since = ts; count = 0 end
    redis.call('HSET', KEYS[5], item, string.format('%d|%d|%s|%s', since, count + 1, source, section))
  elseif since ~= nil and (typ == 'purchase' or typ == 'click' or typ == 'add_to_cart') then
    redis.call('HSET', KEYS[5], item, string.format('%d|0|%s|%s', since, source, section))
  end
  local id = ''
  if logged then
    local k = {KEYS[10], KEYS[11], KEYS[12], KEYS[13]}
    id = log_event(k, ARGV[1], typ, item, ARGV[b+2], qty, given, source, section, segment)
  end
  out[#out + 1] = {id, source, section}
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. now)
for _, i in ipairs({1, 2, 3, 4, 5, 8}) do redis.call('EXPIRE', KEYS[i], ttl) end
rebuild_view({KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]}, tonumber(ARGV[7]), ttl)
return out
"""
)

# The events `APPLY` applied on a cluster, logged (KEYS as `LOG_EVENT`'s). ARGV per event:
# customer, type, item, ts_ms, quantity, given section, source, section, segment. Returns the ids.
LOG = (
    LOG_EVENT
    + """
local out = {}
for b = 1, #ARGV, 9 do
  local a = ARGV
  out[#out + 1] = log_event(KEYS, a[b], a[b+1], a[b+2], a[b+3], a[b+4], a[b+5], a[b+6], a[b+7], a[b+8])
end
return out
"""
)

# Impressions of many customers in one call (the hot path sends one per loop tick, one per
# cluster node on a cluster; see `service.live.impressions`, the one place that builds its
# arguments). KEYS: the first customer's `shown` key (a cluster routes the call to its node; all
# the call's customers are on that node, and the flag lets the script reach their slots: a
# command's declared keys must share one slot, so the others are built here). ARGV: now_ms,
# window_ms, cap, ttl_s, live key prefix, forgotten marker prefix, then one string per customer:
# customer, source, section, segment, impressions of already capped items, items..., joined by
# "\31" (none of them can hold it). The other keys are built here from the prefixes, as
# `models.contract` builds them. A forgotten customer's impressions are not written. The
# feedback counters are incremented by the writer beside this call (they live on another shard).
IMPRESSIONS = (
    "#!lua flags=allow-cross-slot-keys\n"
    + SHOWN_PARTS
    + REBUILD_VIEW
    + """
local now, window, cap, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local prefix, denied = ARGV[5], ARGV[6]
local parts = {'bought', 'recent', 'suppressed', 'negative', 'shown', 'contact', 'view', 'plans'}
local total = 0
for a = 7, #ARGV do
  local f = {}
  for field in string.gmatch(ARGV[a], '[^\\031]+') do f[#f + 1] = field end
  if redis.call('EXISTS', denied .. '{' .. f[1] .. '}') == 0 then
  local k = {}
  for i, part in ipairs(parts) do k[i] = prefix .. '{' .. f[1] .. '}:' .. part end
  local crossed = false
  for i = 6, #f do
    local since, count = shown_parts(redis.call('HGET', k[5], f[i]))
    if since == nil or now - since > window then since = now; count = 0 end
    count = count + 1
    if count == cap then crossed = true end
    redis.call('HSET', k[5], f[i], string.format('%d|%d|%s|%s', since, count, f[2], f[3]))
  end
  if #f > 5 then redis.call('EXPIRE', k[5], ttl) end
  if redis.call('HLEN', k[5]) > 512 then
    local all = redis.call('HGETALL', k[5])
    for j = 1, #all, 2 do
      local since = shown_parts(all[j + 1])
      if since == nil or now - since > window then redis.call('HDEL', k[5], all[j]) end
    end
  end
  if crossed then rebuild_view(k, cap, ttl) end
  total = total + #f - 5
  end
end
return total
"""
)
FIELD_SEPARATOR = "\x1f"  # between the fields of one customer's IMPRESSIONS argument

# KEYS: contact, the customer's forgotten marker. ARGV: now_ms, min_interval_ms, ttl_s, customer.
CLAIM_CONTACT = """
if redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
local last = redis.call('GET', KEYS[1])
if last and tonumber(ARGV[1]) - tonumber(last) < tonumber(ARGV[2]) then return last end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
return false
"""
IMPRESSIONS_SHA = hashlib.sha1(IMPRESSIONS.encode()).hexdigest()
