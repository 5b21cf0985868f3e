/**
 * Step tasks (the fan-out queue of a run's steps). Per run: `tasks:<run>` (correlation ID → the task as offered,
 * JSON written by JavaScript and never parsed here), `taskst:<run>` (→ its small mutable state, JSON
 * `{a: attempt, n: offer order, s: status, o/t/e: claim owner, fencing token, expiry}`) and `taskout:<run>` (→ the
 * outcome). Across runs, two sorted sets of `<run>\0<correlationId>` members: `taskq` (offered, by offer order)
 * and `taskclaims` (claimed, by claim expiry), so a claim reads the oldest offers and the expired claims without
 * walking live ones. Claim tokens come from one counter (`tasktoken`), so no two claims ever share one.
 *
 * This is the job-queue pattern written out rather than taken from a queue library (BullMQ and the like):
 * a claim must be judged together with our own run rows (a finished run's tasks are not handed out) and the
 * server clock, in the same script.
 */
import { PRELUDE } from "./prelude.js";

const TASK_PRELUDE = `${PRELUDE}
local function member(runId, cid) return runId .. "\\0" .. cid end
local function state_of(runId, cid)
  local raw = redis.call("HGET", P .. "taskst:" .. runId, cid)
  return raw and cjson.decode(raw)
end
local function save_state(runId, cid, st)
  redis.call("HSET", P .. "taskst:" .. runId, cid, cjson.encode(st))
end
`;

/**
 * ARGV: 1 prefix, 2 notification, 3 count, then per task: runId, correlationId, attempt, task JSON.
 * Answers `{"ok", changed}` or `{"not_found", runId}` (then nothing was written).
 */
export const OFFER_TASKS = `${TASK_PRELUDE}
local n = tonumber(ARGV[3])
for k = 0, n - 1 do
  local runId = ARGV[4 + 4 * k]
  if redis.call("EXISTS", P .. "run:" .. runId) == 0 then return {"not_found", runId} end
end
local now = now_ms()
local changed = 0
for k = 0, n - 1 do
  local runId, cid, attempt, task = ARGV[4 + 4 * k], ARGV[5 + 4 * k], tonumber(ARGV[6 + 4 * k]), ARGV[7 + 4 * k]
  local m = member(runId, cid)
  local st = state_of(runId, cid)
  if not st or st.a < attempt then
    -- New, or a newer attempt: replaces whatever was stored (its claimer can no longer renew or complete).
    local order = redis.call("INCR", P .. "taskseq")
    redis.call("HSET", P .. "tasks:" .. runId, cid, task)
    save_state(runId, cid, {a = attempt, n = order, s = "offered"})
    redis.call("HDEL", P .. "taskout:" .. runId, cid)
    redis.call("ZREM", P .. "taskclaims", m)
    redis.call("ZADD", P .. "taskq", order, m)
    changed = changed + 1
  elseif st.a == attempt and st.s == "claimed" and st.e <= now then
    -- The same attempt, whose claimer died: claimable again at once, in its old place.
    save_state(runId, cid, {a = st.a, n = st.n, s = "offered"})
    redis.call("ZREM", P .. "taskclaims", m)
    redis.call("ZADD", P .. "taskq", st.n, m)
    changed = changed + 1
  end
end
if changed > 0 then redis.call("PUBLISH", P .. "notify", ARGV[2]) end
return {"ok", changed}
`;

/**
 * ARGV: 1 prefix, 2 owner, 3 ttl ms, 4 limit. Takes up to `limit` offered tasks and tasks whose claim expired,
 * oldest offer first, skipping (and unqueueing) tasks of finished runs. Answers a flat list of
 * `task JSON, token, expiresAt` triples.
 */
export const CLAIM_TASKS = `${TASK_PRELUDE}
local limit = tonumber(ARGV[4])
local now = now_ms()
local picked = {}
local function unfinished(runId)
  local status = redis.call("HGET", P .. "run:" .. runId, "status")
  return status == "pending" or status == "running"
end
-- The first limit usable members of one queue (the overall oldest limit are among the two queues' first limit).
local function collect(key, by_expiry)
  local found, offset = 0, 0
  while found < limit do
    local batch
    if by_expiry then
      batch = redis.call("ZRANGE", key, "-inf", now, "BYSCORE", "LIMIT", offset, 64)
    else
      batch = redis.call("ZRANGE", key, offset, offset + 63)
    end
    if #batch == 0 then return end
    offset = offset + #batch
    for _, m in ipairs(batch) do
      local sep = string.find(m, "\\0", 1, true)
      local runId, cid = string.sub(m, 1, sep - 1), string.sub(m, sep + 1)
      local st = state_of(runId, cid)
      local usable = st and (by_expiry and st.s == "claimed" and st.e <= now or not by_expiry and st.s == "offered")
      if usable and unfinished(runId) then
        picked[#picked + 1] = {m = m, runId = runId, cid = cid, st = st}
        found = found + 1
        if found >= limit then return end
      else
        -- A finished run's task (or a member left behind by a removal): never claimable again.
        redis.call("ZREM", key, m)
        offset = offset - 1
      end
    end
  end
end
collect(P .. "taskq", false)
collect(P .. "taskclaims", true)
table.sort(picked, function(x, y) return x.st.n < y.st.n end)
local out = {}
for k = 1, math.min(limit, #picked) do
  local p = picked[k]
  local token = redis.call("INCR", P .. "tasktoken")
  local expires = now + tonumber(ARGV[3])
  save_state(p.runId, p.cid, {a = p.st.a, n = p.st.n, s = "claimed", o = ARGV[2], t = token, e = expires})
  redis.call("ZREM", P .. "taskq", p.m)
  redis.call("ZADD", P .. "taskclaims", expires, p.m)
  out[#out + 1] = redis.call("HGET", P .. "tasks:" .. p.runId, p.cid)
  out[#out + 1] = token
  out[#out + 1] = expires
end
return out
`;

/**
 * ARGV: 1 prefix, 2 runId, 3 correlationId, 4 attempt, 5 claim token, 6 ttl ms. Extends a claim that is still
 * this one (even after expiry, while nobody took it). Answers `{expiresAt}` or `{}`.
 */
export const RENEW_TASK = `${TASK_PRELUDE}
local runId, cid = ARGV[2], ARGV[3]
local st = state_of(runId, cid)
if not st or st.s ~= "claimed" or st.a ~= tonumber(ARGV[4]) or st.t ~= tonumber(ARGV[5]) then return {} end
st.e = now_ms() + tonumber(ARGV[6])
save_state(runId, cid, st)
redis.call("ZADD", P .. "taskclaims", st.e, member(runId, cid))
return {st.e}
`;

/**
 * ARGV: 1 prefix, 2 runId, 3 correlationId, 4 attempt, 5 claim token, 6 outcome JSON, 7 notification.
 * Answers 2 (stored now), 1 (stored before under the same claim: a resend) or 0 (the claim no longer holds).
 */
export const COMPLETE_TASK = `${TASK_PRELUDE}
local runId, cid = ARGV[2], ARGV[3]
local st = state_of(runId, cid)
if not st or st.a ~= tonumber(ARGV[4]) or st.t ~= tonumber(ARGV[5]) then return 0 end
if st.s == "completed" then return 1 end
if st.s ~= "claimed" then return 0 end
st.s = "completed"
save_state(runId, cid, st)
redis.call("HSET", P .. "taskout:" .. runId, cid, ARGV[6])
redis.call("ZREM", P .. "taskclaims", member(runId, cid))
redis.call("PUBLISH", P .. "notify", ARGV[7])
return 2
`;

/** ARGV: 1 prefix, 2 runId. Answers `{0}` for an unknown run, else `{1, cid, task, state, outcome|false, ...}`. */
export const LIST_TASKS = `${TASK_PRELUDE}
local runId = ARGV[2]
if redis.call("EXISTS", P .. "run:" .. runId) == 0 then return {0} end
local out = {1}
local states = redis.call("HGETALL", P .. "taskst:" .. runId)
for k = 1, #states, 2 do
  local cid = states[k]
  out[#out + 1] = cid
  out[#out + 1] = redis.call("HGET", P .. "tasks:" .. runId, cid)
  out[#out + 1] = states[k + 1]
  out[#out + 1] = redis.call("HGET", P .. "taskout:" .. runId, cid)
end
return out
`;

/** ARGV: 1 prefix, 2 runId, 3.. correlation IDs (none: all of the run's tasks). */
export const REMOVE_TASKS = `${TASK_PRELUDE}
local runId = ARGV[2]
local cids = slice(3, #ARGV - 2)
if #cids == 0 then cids = redis.call("HKEYS", P .. "taskst:" .. runId) end
for _, cid in ipairs(cids) do
  local m = member(runId, cid)
  redis.call("ZREM", P .. "taskq", m)
  redis.call("ZREM", P .. "taskclaims", m)
  redis.call("HDEL", P .. "tasks:" .. runId, cid)
  redis.call("HDEL", P .. "taskst:" .. runId, cid)
  redis.call("HDEL", P .. "taskout:" .. runId, cid)
end
return #cids
`;
