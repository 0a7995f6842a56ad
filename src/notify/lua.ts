// Lua scripts of the notification queue. The state-change scripts (src/state/scripts.ts)
// append to one outbox stream; ROUTE moves those entries, in order, into one Redis list
// per execution (and one for the machine), so each list can be delivered in seq order
// while another list's stuck head holds nothing else back. A list is delivered by one
// worker at a time: claiming it sets its score in the due set to a lease expiry, so a
// worker that dies mid-delivery (SIGKILL) only delays that list until the lease expires.
// Every step is one atomic script, so several workers (and old + new ones during a
// reload) can run them concurrently.
//
// Common calling convention:
//   KEYS: 1 outbox, 2 due (zset), 3 lease (hash), 4 attempts (hash), 5 stats (hash)
//   ARGV: 1 list key prefix, 2 now (ms), 3.. script-specific
// Each list element is the JSON of one outbox entry plus its stream id as `id`.

const COMMON = `
local outbox, due, lease, attempts, stats = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local qprefix, now = ARGV[1], ARGV[2]

local function head_is (q, id)
  local head = redis.call('LINDEX', q, 0)
  return head and cjson.decode(head).id == id
end
`

/** ARGV 3 max entries. Moves the oldest outbox entries to their lists; returns how many. */
export const ROUTE = COMMON + `
local entries = redis.call('XRANGE', outbox, '-', '+', 'COUNT', tonumber(ARGV[3]))
for _, e in ipairs(entries) do
  local t = {id = e[1]}
  local f = e[2]
  for i = 1, #f, 2 do t[f[i]] = f[i + 1] end
  -- 'exec:' keeps an execution named "machine" apart from the machine's own list
  local name = 'machine'
  if t.kind ~= 'machine' then name = 'exec:' .. tostring(t.key) end
  redis.call('RPUSH', qprefix .. name, cjson.encode(t))
  -- NX: a list already waiting (backoff) or leased keeps its schedule
  redis.call('ZADD', due, 'NX', now, name)
  redis.call('XDEL', outbox, e[1])
end
return #entries
`

/**
 * ARGV 3 max lists, 4 lease expiry (ms), 5 token prefix. Leases due lists; returns
 * {name, head, attempts} for each. The token is prefix .. name, unique per claim.
 */
export const CLAIM = COMMON + `
local names = redis.call('ZRANGEBYSCORE', due, '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, name in ipairs(names) do
  local head = redis.call('LINDEX', qprefix .. name, 0)
  if head then
    redis.call('ZADD', due, ARGV[4], name)
    redis.call('HSET', lease, name, ARGV[5] .. name)
    out[#out + 1] = {name, head, redis.call('HGET', attempts, name) or '0'}
  else
    redis.call('ZREM', due, name)
    redis.call('HDEL', lease, name)
    redis.call('HDEL', attempts, name)
  end
end
return out
`

/**
 * ARGV 3 name, 4 entry id, 5 token, 6 lease expiry (ms). The head was delivered: pops it
 * (only if it is still that entry: a duplicate delivery acks once). If this worker still
 * holds the lease, returns the next head with the lease renewed, else nil.
 */
export const ACK = COMMON + `
local name = ARGV[3]
local q = qprefix .. name
if head_is(q, ARGV[4]) then
  redis.call('LPOP', q)
  redis.call('HDEL', attempts, name)
  redis.call('HINCRBY', stats, 'delivered', 1)
end
if redis.call('HGET', lease, name) ~= ARGV[5] then return false end
local nxt = redis.call('LINDEX', q, 0)
if nxt then
  redis.call('ZADD', due, ARGV[6], name)
  return nxt
end
redis.call('ZREM', due, name)
redis.call('HDEL', lease, name)
return false
`

/**
 * ARGV 3 name, 4 entry id, 5 token, 6 attempts so far, 7 next attempt (ms), 8 give up
 * ('1'/'0'). Schedules the retry, or drops the head and makes the next one due.
 */
export const FAIL = COMMON + `
local name = ARGV[3]
local q = qprefix .. name
if redis.call('HGET', lease, name) ~= ARGV[5] then return 'lost' end
redis.call('HDEL', lease, name)
if ARGV[8] == '1' then
  if head_is(q, ARGV[4]) then redis.call('LPOP', q) end
  redis.call('HDEL', attempts, name)
  redis.call('HINCRBY', stats, 'given_up', 1)
  if redis.call('LLEN', q) > 0 then redis.call('ZADD', due, now, name) else redis.call('ZREM', due, name) end
  return 'given_up'
end
redis.call('HSET', attempts, name, ARGV[6])
redis.call('HINCRBY', stats, 'failed', 1)
redis.call('ZADD', due, ARGV[7], name)
return 'retry'
`

/** ARGV 3 name, 4 token. A stopping worker hands its list back, due at once. */
export const RELEASE = COMMON + `
if redis.call('HGET', lease, ARGV[3]) ~= ARGV[4] then return 0 end
redis.call('HDEL', lease, ARGV[3])
redis.call('ZADD', due, now, ARGV[3])
return 1
`

/**
 * ARGV 3 max lists. The orchestrator answered again after failures: lists waiting out
 * their backoff become due now instead of up to 5 min later (attempt counts are kept,
 * so a list that keeps failing still backs off).
 */
export const RECOVER = COMMON + `
local names = redis.call('ZRANGEBYSCORE', due, '(' .. now, '+inf', 'LIMIT', 0, tonumber(ARGV[3]))
local n = 0
for _, name in ipairs(names) do
  if redis.call('HEXISTS', lease, name) == 0 then
    redis.call('ZADD', due, now, name)
    n = n + 1
  end
end
return n
`
