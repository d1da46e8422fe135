import type { CommandTarget } from './command-bus';

/**
 * The redis bus's data layout and its Lua scripts. Every operation on commands is one script, so it
 * is atomic and costs one round trip (one HTTP request over Upstash REST).
 *
 * Layout (all times are Redis server milliseconds):
 * - `watchtower:command:{id}` HASH, one command: id, kind, target, type, args (JSON), status,
 *   result (JSON), error, createdBy, createdAt, expiresAt, claimedBy, claimedAt, leaseUntil,
 *   claimToken, deliveries, finishedAt, seq. Absent fields are null. Expires at
 *   max(expiresAt, leaseUntil) + retention while open, finishedAt + retention once finished.
 * - `watchtower:commands:{kind}:{targetId}` ZSET, the target's open (pending or claimed) command ids
 *   scored by seq: the per-target order. Expires with the last command it holds.
 * - `watchtower:commands:seq` STRING counter, the global send order.
 * - `watchtower:commands:deadlines` ZSET, every open command id scored by the moment it becomes
 *   overdue if nobody touches it (expiresAt, or leaseUntil if later): what `cleanup` expires.
 * - `watchtower:commands:finished` ZSET, finished command ids scored by finishedAt: what `cleanup`
 *   deletes once the retention asked for has passed.
 * - channel `watchtower:commands`: `kind:targetId` published on every send.
 *
 * State machine of a command (status field):
 *   pending ──claim──▶ claimed ──acknowledge──▶ done | failed
 *      │                 │  ▲
 *      │                 │  └─claim again, once the lease ended and the TTL did not─┘
 *      └─TTL ends─▶ expired ◀─TTL and lease both ended─┘
 * Open commands (pending, claimed) are in their target's ZSET and in the deadlines index; finished
 * ones (done, failed, expired) are in neither, only in the finished index.
 *
 * The scripts build command and target key names from ids they read, so they touch keys that
 * KEYS does not declare: fine on one Redis and on Upstash, not on Redis Cluster.
 */

export const COMMAND_KEY_PREFIX = 'watchtower:command:';
export const TARGET_KEY_PREFIX = 'watchtower:commands:';
export const SEQ_KEY = 'watchtower:commands:seq';
export const DEADLINES_KEY = 'watchtower:commands:deadlines';
export const FINISHED_KEY = 'watchtower:commands:finished';
export const REDIS_COMMANDS_CHANNEL = 'watchtower:commands';

export function commandKey(id: string): string {
  return COMMAND_KEY_PREFIX + id;
}

export function targetKey(target: CommandTarget): string {
  return `${TARGET_KEY_PREFIX}${target.kind}:${target.id}`;
}

/** Shared by every script; KEYS[1] and KEYS[2] are always the deadlines and finished indexes. */
const PRELUDE = `
local DEADLINES = KEYS[1]
local FINISHED = KEYS[2]
local CMD = '${COMMAND_KEY_PREFIX}'
local OPEN = { pending = true, claimed = true }

-- Numbers go to Redis as text formatted here: Lua numbers are doubles, which Redis may print with
-- an exponent, and a millisecond timestamp must stay an exact integer.
local function int(n) return string.format('%.0f', n) end

-- Redis server time is the one clock, so hosts and Cloudflare Workers with skewed clocks agree.
local t = redis.call('TIME')
local NOW = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local function target_key(kind, id) return '${TARGET_KEY_PREFIX}' .. kind .. ':' .. id end

-- When an open command becomes overdue if untouched: its TTL, or its lease if that ends later.
local function due_at(expires, lease_until) return math.max(expires, lease_until or 0) end

-- Pushes a key's expiry out to \`at\`, never pulls it in.
local function keep_until(key, at)
  local ttl = redis.call('PTTL', key)
  if ttl == -2 then return end
  if ttl == -1 or NOW + ttl < at then redis.call('PEXPIREAT', key, int(at)) end
end

-- Open -> done, failed or expired: out of its target's queue and the deadlines index, into the
-- finished index, kept for the retention and then dropped by Redis itself.
local function finish(id, status, kind, target, retention)
  local key = CMD .. id
  redis.call('HSET', key, 'status', status, 'finishedAt', int(NOW))
  redis.call('HDEL', key, 'leaseUntil')
  redis.call('ZREM', target_key(kind, target), id)
  redis.call('ZREM', DEADLINES, id)
  redis.call('ZADD', FINISHED, int(NOW), id)
  redis.call('PEXPIREAT', key, int(NOW + retention))
end

-- Past its TTL and not under a live lease: such a command is never handed out again.
local function overdue(status, expires, lease_until)
  return expires <= NOW and (status == 'pending' or (lease_until or 0) <= NOW)
end
`;

function script(body: string): string {
  return PRELUDE + body;
}

/**
 * KEYS: deadlines, finished, command, target queue, seq.
 * ARGV: id, kind, targetId, type, argsJson, ttlMs, retentionMs, channel, [createdBy].
 * Returns { now, HGETALL of the command }.
 */
export const SEND_SCRIPT = script(`
local key, queue, seq_key = KEYS[3], KEYS[4], KEYS[5]
local id, kind, target = ARGV[1], ARGV[2], ARGV[3]
-- The same id sent twice stores one command: answer with the stored one, unchanged.
if redis.call('EXISTS', key) == 1 then return { NOW, redis.call('HGETALL', key) } end
local expires = NOW + tonumber(ARGV[6])
local retention = tonumber(ARGV[7])
-- One global sequence, so a claim over many targets hands commands out in the order they were sent.
local seq = redis.call('INCR', seq_key)
redis.call('HSET', key, 'id', id, 'kind', kind, 'target', target, 'type', ARGV[4], 'args', ARGV[5],
  'status', 'pending', 'createdAt', int(NOW), 'expiresAt', int(expires), 'deliveries', '0', 'seq', int(seq))
if ARGV[9] then redis.call('HSET', key, 'createdBy', ARGV[9]) end
-- A command nobody claims or cleans up still vanishes on its own.
redis.call('PEXPIREAT', key, int(expires + retention))
redis.call('ZADD', queue, int(seq), id)
keep_until(queue, expires + retention)
redis.call('ZADD', DEADLINES, int(expires), id)
-- Published inside the script, so a woken host always finds the command.
redis.call('PUBLISH', ARGV[8], kind .. ':' .. target)
return { NOW, redis.call('HGETALL', key) }
`);

/**
 * KEYS: deadlines, finished, then one queue per target.
 * ARGV: claimer, leaseMs, limit, tokenBase (a uuid), retentionMs, perTarget (0: no limit).
 * Returns { now, HGETALL of each claimed command... } in seq order.
 */
export const CLAIM_SCRIPT = script(`
local claimer, lease, limit = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local retention = tonumber(ARGV[5])
local per_target = tonumber(ARGV[6]) or 0
local cap = limit
if per_target > 0 and per_target < cap then cap = per_target end
local PAGE = 100

-- Claims hand out a prefix of a queue in seq order, so claimed commands always come before
-- pending ones. Hence the scan may stop at the first pending command once it has \`cap\`
-- candidates: no live lease can be further on.
-- Returns the target's claimable commands as { seq, id, expires }, or none at all when one of its
-- commands is held under a live lease (the target waits for it, which keeps the order).
local function scan(queue)
  local found = {}
  local start = 0
  while true do
    local page = redis.call('ZRANGE', queue, start, start + PAGE - 1, 'WITHSCORES')
    if #page == 0 then return found end
    local removed = 0
    for j = 1, #page, 2 do
      local id = page[j]
      local f = redis.call('HMGET', CMD .. id, 'status', 'expiresAt', 'leaseUntil', 'kind', 'target')
      local status = f[1]
      if not OPEN[status] then
        -- Gone (retention ended) or finished: a stale queue entry.
        redis.call('ZREM', queue, id)
        removed = removed + 1
      else
        local expires, lease_until = tonumber(f[2]), tonumber(f[3])
        if status == 'claimed' and (lease_until or 0) > NOW then return {} end
        if overdue(status, expires, lease_until) then
          -- Not claimed in time: it ends as expired and is never carried out late.
          finish(id, 'expired', f[4], f[5], retention)
          removed = removed + 1
        else
          -- Pending, or claimed with a lapsed lease inside its TTL: claimable (again).
          if status == 'pending' and #found >= cap then return found end
          found[#found + 1] = { tonumber(page[j + 1]), id, expires, f[4], f[5] }
        end
      end
    end
    start = start + #page / 2 - removed
  end
end

local candidates = {}
for i = 3, #KEYS do
  -- A lapsed prefix may be longer than the cap: its first ones, in order.
  for n, c in ipairs(scan(KEYS[i])) do
    if n <= cap then candidates[#candidates + 1] = c end
  end
end
table.sort(candidates, function(a, b) return a[1] < b[1] end)

-- Lua has no uuid: each token is the caller's random uuid with its last 8 hex digits counted on,
-- unique within the claim and unguessable across claims.
local base = ARGV[4]
local prefix, counter = string.sub(base, 1, 28), tonumber(string.sub(base, 29), 16)
local out = { NOW }
for i = 1, math.min(limit, #candidates) do
  local c = candidates[i]
  local id, expires = c[2], c[3]
  local key = CMD .. id
  local lease_until = NOW + lease
  local token = prefix .. string.format('%08x', (counter + i) % 4294967296)
  redis.call('HSET', key, 'status', 'claimed', 'claimedBy', claimer, 'claimedAt', int(NOW),
    'leaseUntil', int(lease_until), 'claimToken', token)
  redis.call('HINCRBY', key, 'deliveries', 1)
  local due = due_at(expires, lease_until)
  redis.call('ZADD', DEADLINES, int(due), id)
  keep_until(key, due + retention)
  keep_until(target_key(c[4], c[5]), due + retention)
  out[#out + 1] = redis.call('HGETALL', key)
end
return out
`);

/**
 * KEYS: deadlines, finished, command. ARGV: id, token, status, resultJson, retentionMs, [error].
 * Returns { now } when the command does not exist, else { now, changed (1|0), HGETALL }.
 */
export const ACKNOWLEDGE_SCRIPT = script(`
local key = KEYS[3]
local id, token = ARGV[1], ARGV[2]
local f = redis.call('HMGET', key, 'status', 'claimToken', 'kind', 'target')
if not f[1] then return { NOW } end
-- Only the holder of the current claim finishes a command, even after its lease lapsed, as long as
-- nobody claimed it again (which changes the token) and it was not expired meanwhile. Anything
-- else (a repeat, a lost claim) is told apart by the caller from the stored command.
if f[1] ~= 'claimed' or f[2] ~= token then return { NOW, 0, redis.call('HGETALL', key) } end
redis.call('HSET', key, 'result', ARGV[4])
if ARGV[6] then redis.call('HSET', key, 'error', ARGV[6]) end
finish(id, ARGV[3], f[3], f[4], tonumber(ARGV[5]))
return { NOW, 1, redis.call('HGETALL', key) }
`);

/** KEYS: deadlines, finished, command. ARGV: id, token, leaseMs, retentionMs. Returns 1 or 0. */
export const EXTEND_LEASE_SCRIPT = script(`
local key = KEYS[3]
local id, token = ARGV[1], ARGV[2]
local f = redis.call('HMGET', key, 'status', 'claimToken', 'expiresAt', 'leaseUntil', 'kind', 'target')
if f[1] ~= 'claimed' or f[2] ~= token then return 0 end
local expires = tonumber(f[3])
-- An overdue command reads as expired: its claim is lost even if nobody expired it yet.
if overdue('claimed', expires, tonumber(f[4])) then return 0 end
local lease_until = NOW + tonumber(ARGV[3])
local retention = tonumber(ARGV[4])
redis.call('HSET', key, 'leaseUntil', int(lease_until))
local due = due_at(expires, lease_until)
redis.call('ZADD', DEADLINES, int(due), id)
keep_until(key, due + retention)
keep_until(target_key(f[5], f[6]), due + retention)
return 1
`);

/** KEYS: deadlines, finished, command. Returns { now, HGETALL } (empty when missing). */
export const FIND_SCRIPT = script(`
return { NOW, redis.call('HGETALL', KEYS[3]) }
`);

/**
 * KEYS: deadlines, finished. ARGV: limit, cutoffRetentionMs, keepRetentionMs.
 * Returns how many index entries it handled (commands deleted, expired, or stale entries dropped).
 */
export const CLEANUP_SCRIPT = script(`
local limit = tonumber(ARGV[1])
local cutoff = NOW - tonumber(ARGV[2])
local keep = tonumber(ARGV[3])
local touched = 0

-- Finished commands older than the retention asked for. Redis drops them by expiry anyway; this
-- serves a shorter retention. Runs first, so a command expired below is not deleted in the same run.
for _, id in ipairs(redis.call('ZRANGEBYSCORE', FINISHED, '-inf', int(cutoff), 'LIMIT', 0, limit)) do
  local key = CMD .. id
  local f = redis.call('HMGET', key, 'status', 'finishedAt')
  local finished_at = tonumber(f[2])
  if not f[1] or OPEN[f[1]] then
    -- Gone already, or the id was sent again after its key expired: only the entry is stale.
    redis.call('ZREM', FINISHED, id)
  elseif finished_at and finished_at > cutoff then
    redis.call('ZADD', FINISHED, int(finished_at), id)
  else
    redis.call('DEL', key)
    redis.call('ZREM', FINISHED, id)
  end
  touched = touched + 1
end

-- Open commands whose deadline passed: nobody claimed them (or their claimer died) in time.
for _, id in ipairs(redis.call('ZRANGEBYSCORE', DEADLINES, '-inf', int(NOW), 'LIMIT', 0, limit)) do
  local f = redis.call('HMGET', CMD .. id, 'status', 'expiresAt', 'leaseUntil', 'kind', 'target')
  if not OPEN[f[1]] then
    redis.call('ZREM', DEADLINES, id)
  else
    local expires, lease_until = tonumber(f[2]), tonumber(f[3])
    if overdue(f[1], expires, lease_until) then
      finish(id, 'expired', f[4], f[5], keep)
    else
      redis.call('ZADD', DEADLINES, int(due_at(expires, lease_until)), id)
    end
  end
  touched = touched + 1
end
return touched
`);
