// Lua scripts for every execution state change. Each one changes the record, the
// queue/running sets, appends the notification(s) to the outbox and recomputes the
// machine status in one atomic step: there is no moment where the state changed but
// its notification was not recorded, and no race between two workers.
//
// Common calling convention:
//   KEYS: 1 pending, 2 running, 3 index, 4 outbox, 5 machine, 6 exec key, 7 secrets key
//   ARGV: 1 now (ISO), 2 notify ('1'/'0'), 3 cap, 4 exec prefix, 5 secrets prefix,
//         6 wake channel, 7.. script-specific
// Machine status: draining (flag) > full (running >= cap) > busy (running or queued) > idle.

const COMMON = `
local pending, running, index, outbox, machine = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local now, notify, cap = ARGV[1], ARGV[2] == '1', tonumber(ARGV[3])
local exec_prefix, secrets_prefix, wake = ARGV[4], ARGV[5], ARGV[6]

local function record_json (key)
  local h = redis.call('HGETALL', key)
  local t = {}
  for i = 1, #h, 2 do t[h[i]] = h[i + 1] end
  return cjson.encode(t)
end

local function exec_event (key, id, previous, status)
  local seq = redis.call('HINCRBY', key, 'notify_seq', 1)
  if notify then
    redis.call('XADD', outbox, '*', 'kind', 'execution', 'key', id, 'seq', seq, 'status', status,
      'previous', previous, 'ts', now, 'record', record_json(key))
  end
end

local function machine_event ()
  local nrun = redis.call('SCARD', running)
  local nq = redis.call('ZCARD', pending)
  local status = 'idle'
  if redis.call('HGET', machine, 'draining') == '1' then status = 'draining'
  elseif nrun >= cap then status = 'full'
  elseif nrun > 0 or nq > 0 then status = 'busy' end
  local previous = redis.call('HGET', machine, 'status') or ''
  if previous ~= status then
    redis.call('HSET', machine, 'status', status)
    local seq = redis.call('HINCRBY', machine, 'seq', 1)
    if notify then
      redis.call('XADD', outbox, '*', 'kind', 'machine', 'key', 'machine', 'seq', seq, 'status', status,
        'previous', previous, 'ts', now)
    end
  end
end

local function queue_score (key)
  local order = redis.call('HINCRBY', machine, 'queue_order', 1)
  local prio = 1
  if redis.call('HGET', key, 'priority') == 'high' then prio = 0 end
  return prio * 1e15 + order
end
`

/** ARGV 7 id, 8 body hash, 9 secrets JSON or '', 10 created ms, 11.. field/value pairs. */
export const CREATE = COMMON + `
local key, secrets_key, id, hash = KEYS[6], KEYS[7], ARGV[7], ARGV[8]
if redis.call('EXISTS', key) == 1 then
  if redis.call('HGET', key, 'body_hash') == hash then return {'exists', record_json(key)} end
  return {'conflict'}
end
local fields = {}
for i = 11, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', key, 'body_hash', hash, unpack(fields))
if ARGV[9] ~= '' then redis.call('SET', secrets_key, ARGV[9]) end
redis.call('ZADD', index, tonumber(ARGV[10]), id)
redis.call('ZADD', pending, queue_score(key), id)
exec_event(key, id, '', 'queued')
machine_event()
redis.call('PUBLISH', wake, id)
return {'created', record_json(key)}
`

/**
 * Takes the best queued execution if the machine-wide cap allows: marks it running and
 * returns {record, secrets}. Secrets are deleted here when the execution cannot start
 * again (retries = 0). ARGV 7 worker pid.
 */
export const CLAIM = COMMON + `
while true do
  if redis.call('SCARD', running) >= cap then return nil end
  local popped = redis.call('ZPOPMIN', pending)
  if #popped == 0 then return nil end
  local id = popped[1]
  local key = exec_prefix .. id
  if redis.call('HGET', key, 'status') == 'queued' then
    redis.call('HSET', key, 'status', 'running', 'started_at', now, 'worker_pid', ARGV[7])
    redis.call('SADD', running, id)
    local skey = secrets_prefix .. id
    local secrets = redis.call('GET', skey) or ''
    if tonumber(redis.call('HGET', key, 'retries') or '0') == 0 then redis.call('DEL', skey) end
    exec_event(key, id, 'queued', 'running')
    machine_event()
    return {record_json(key), secrets}
  end
end
`

/**
 * A running execution ended. ARGV 7 id, 8 status, 9 requeue ('1' = run again: lost with
 * retries left), 10.. field/value pairs. Returns {'done', record} or {'not_running'}.
 */
export const FINISH = COMMON + `
local key, secrets_key, id, status = KEYS[6], KEYS[7], ARGV[7], ARGV[8]
if redis.call('HGET', key, 'status') ~= 'running' then return {'not_running'} end
local fields = {}
for i = 10, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', key, 'status', status, 'finished_at', now, unpack(fields))
redis.call('SREM', running, id)
exec_event(key, id, 'running', status)
if ARGV[9] == '1' then
  redis.call('HDEL', key, 'started_at', 'finished_at', 'pid', 'worker_pid', 'exit_code', 'signal', 'cancel_requested_at', 'result')
  redis.call('HSET', key, 'status', 'queued')
  redis.call('HINCRBY', key, 'attempt', 1)
  redis.call('ZADD', pending, queue_score(key), id)
  exec_event(key, id, status, 'queued')
else
  redis.call('DEL', secrets_key)
end
machine_event()
redis.call('PUBLISH', wake, id)
return {'done', record_json(key)}
`

/**
 * ARGV 7 id, 8 cancel channel, 9 reason. Queued -> cancelled at once; running -> flag +
 * publish (the worker running it kills it); finished -> reported as such.
 */
export const CANCEL = COMMON + `
local key, secrets_key, id = KEYS[6], KEYS[7], ARGV[7]
local status = redis.call('HGET', key, 'status')
if not status then return {'missing'} end
if status == 'queued' then
  redis.call('HSET', key, 'status', 'cancelled', 'finished_at', now, 'cancel_requested_at', now, 'error', ARGV[9])
  redis.call('ZREM', pending, id)
  redis.call('DEL', secrets_key)
  exec_event(key, id, 'queued', 'cancelled')
  machine_event()
  return {'cancelled', record_json(key)}
end
if status == 'running' then
  if not redis.call('HGET', key, 'cancel_requested_at') then
    redis.call('HSET', key, 'cancel_requested_at', now)
  end
  redis.call('PUBLISH', ARGV[8], id)
  return {'requested', record_json(key)}
end
return {'finished', record_json(key)}
`

/** Sets or clears the draining flag and re-evaluates the machine status. ARGV 7 '1'/'0'. */
export const MACHINE = COMMON + `
if ARGV[7] == '1' then redis.call('HSET', machine, 'draining', '1') else redis.call('HDEL', machine, 'draining') end
machine_event()
return redis.call('HGET', machine, 'status')
`
