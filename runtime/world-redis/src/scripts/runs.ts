/**
 * The scripts that write a run's log: `createRun` and the conditional append. The rows are computed in
 * JavaScript with the shared materialiser (`@wfkit/world`); these scripts hold only the rules that must be
 * judged atomically with the write (see the README, "Which rules live where"):
 *
 * - the run exists; the lease (owner, fencing token, unexpired by the server clock) when one is given;
 * - its log ends at `expectedSeq`: the compare-and-set that makes the state the batch was judged and applied on in
 *   JavaScript exactly the stored one. Everything decided from that state (whether the run accepts the batch at
 *   all, `checkAppendable`; its own hooks' tokens, `checkHookTokens`; the rows, `applyEvents`) therefore holds
 *   atomically too, and new event types need no change here;
 * - no live hook of another run holds a token the batch takes (other runs' hooks are not in that state);
 * - the deliveries the batch names are consumed.
 *
 * Then, in the same script: the events, the changed rows, the token, wake-up, lease and listing indexes, and the
 * notification (PUBLISH), so every process hears of the append when it is stored and not before.
 */
import { PRELUDE } from "./prelude.js";

/**
 * ARGV: 1 prefix, 2 runId, 3 run_created event, 4 run row, 5 index member, 6 workflowName, 7 notification,
 * 8 lease owner ("" = take no lease), 9 lease TTL ms.
 * Answers `{"ok", leaseExpiresAt | ""}` or `{"exists", storedFirstEvent}`.
 */
export const CREATE_RUN = `${PRELUDE}
local runId = ARGV[2]
local runKey = P .. "run:" .. runId
if redis.call("EXISTS", runKey) == 1 then
  return {"exists", redis.call("LINDEX", P .. "ev:" .. runId, 0) or ""}
end
redis.call("HSET", runKey, "row", ARGV[4], "seq", "1", "status", "pending", "ix", ARGV[5], "wf", ARGV[6])
redis.call("RPUSH", P .. "ev:" .. runId, ARGV[3])
redis.call("ZADD", P .. "runs", 0, ARGV[5])
redis.call("ZADD", P .. "runs:s:pending", 0, ARGV[5])
redis.call("ZADD", P .. "runs:w:" .. ARGV[6], 0, ARGV[5])
local expires = ""
if ARGV[8] ~= "" then
  expires = now_ms() + tonumber(ARGV[9])
  redis.call("HSET", runKey, "lo", ARGV[8], "lt", "1", "le", expires, "lh", "1")
  redis.call("ZADD", P .. "leases", expires, runId)
end
redis.call("PUBLISH", P .. "notify", ARGV[7])
return {"ok", expires}
`;

/**
 * ARGV: 1 prefix, 2 runId, 3 expectedSeq, 4 lease owner ("" = no lease check), 5 lease token, 6 new lastSeq,
 * 7 new status, 8 run row, 9 wakeAt ("" = none), 10 "1" when the batch ends the run, 11 notification, then
 * counted lists (a count, then its items): events; steps (id, row); waits (id, row); hooks (id, row); tokens
 * released (token, hookId); tokens that must not be held by another run's live hook (those checkHookTokens
 * asked about); tokens taken, i.e. hooks live after the batch (token, hookId); delivery IDs consumed.
 *
 * Answers `{"ok"}`, `{"not_found"}`, `{"lease_lost"}`, `{"conflict", lastSeq}` or `{"token", token, holderRunId}`.
 */
export const APPEND = `${PRELUDE}
local runId = ARGV[2]
local runKey = P .. "run:" .. runId
local i = 12
local function counted(width)
  local n = tonumber(ARGV[i])
  local from = i + 1
  i = from + n * width
  return slice(from, n * width)
end
local events = counted(1)
local steps = counted(2)
local waits = counted(2)
local hooks = counted(2)
local released = counted(2)
local checked = counted(1)
local taken = counted(2)
local consumed = counted(1)

local cur = redis.call("HMGET", runKey, "seq", "status", "lo", "lt", "le", "lh", "ix")
if not cur[1] then return {"not_found"} end
if ARGV[4] ~= "" then
  if cur[6] ~= "1" or cur[3] ~= ARGV[4] or cur[4] ~= ARGV[5] or tonumber(cur[5]) <= now_ms() then
    return {"lease_lost"}
  end
end
if cur[1] ~= ARGV[3] then return {"conflict", cur[1]} end

local tokensKey = P .. "tokens"
for _, token in ipairs(checked) do
  local holder = redis.call("HGET", tokensKey, token)
  if holder then
    local h = cjson.decode(holder)
    if h.r ~= runId then return {"token", token, h.r} end
  end
end

-- Checked: from here on the append is stored.
call_list("RPUSH", P .. "ev:" .. runId, events)
redis.call("HSET", runKey, "row", ARGV[8], "seq", ARGV[6], "status", ARGV[7])
if #steps > 0 then call_list("HSET", P .. "steps:" .. runId, steps) end
if #waits > 0 then call_list("HSET", P .. "waits:" .. runId, waits) end
if #hooks > 0 then call_list("HSET", P .. "hooks:" .. runId, hooks) end
for k = 1, #released, 2 do
  local holder = redis.call("HGET", tokensKey, released[k])
  if holder then
    local h = cjson.decode(holder)
    if h.r == runId and h.h == released[k + 1] then redis.call("HDEL", tokensKey, released[k]) end
  end
end
for k = 1, #taken, 2 do
  redis.call("HSET", tokensKey, taken[k], cjson.encode({r = runId, h = taken[k + 1]}))
end
if cur[2] ~= ARGV[7] then
  redis.call("ZREM", P .. "runs:s:" .. cur[2], cur[7])
  redis.call("ZADD", P .. "runs:s:" .. ARGV[7], 0, cur[7])
end

local dlv = P .. "dlv:" .. runId
local dlvq = P .. "dlvq:" .. runId
local dlvat = P .. "dlvat:" .. runId
if ARGV[10] == "1" then
  -- The end frees the lease (the holder's releaseLease then finds nothing to do) and drops what only an
  -- unfinished run needs: wake-up, pending deliveries (nothing will consume them), queued step tasks.
  if cur[6] == "1" then redis.call("HSET", runKey, "lh", "0") end
  redis.call("ZREM", P .. "leases", runId)
  redis.call("ZREM", P .. "wake", runId)
  redis.call("DEL", dlv, dlvq, dlvat, P .. "dlvdone:" .. runId)
  redis.call("ZREM", P .. "dlvruns", runId)
  local cids = redis.call("HKEYS", P .. "taskst:" .. runId)
  for _, cid in ipairs(cids) do
    local member = runId .. "\\0" .. cid
    redis.call("ZREM", P .. "taskq", member)
    redis.call("ZREM", P .. "taskclaims", member)
  end
else
  if ARGV[9] ~= "" then
    redis.call("ZADD", P .. "wake", ARGV[9], runId)
  else
    redis.call("ZREM", P .. "wake", runId)
  end
  if #consumed > 0 then
    for _, id in ipairs(consumed) do
      redis.call("HDEL", dlv, id)
      redis.call("HDEL", dlvat, id)
      redis.call("ZREM", dlvq, id)
      redis.call("SADD", P .. "dlvdone:" .. runId, id)
    end
    local first = redis.call("ZRANGE", dlvq, 0, 0)
    if #first == 0 then
      redis.call("ZREM", P .. "dlvruns", runId)
    else
      redis.call("ZADD", P .. "dlvruns", redis.call("HGET", dlvat, first[1]), runId)
    end
  end
end
redis.call("PUBLISH", P .. "notify", ARGV[11])
return {"ok"}
`;

/** ARGV: 1 prefix, 2 token. The live hook row holding the token, or nil. */
export const HOOK_BY_TOKEN = `${PRELUDE}
local holder = redis.call("HGET", P .. "tokens", ARGV[2])
if not holder then return false end
local h = cjson.decode(holder)
return redis.call("HGET", P .. "hooks:" .. h.r, h.h)
`;

/**
 * ARGV: 1 prefix, 2 runId, 3 afterSeq, 4 how many (-1 = all). Answers `{0}` for an unknown run, else
 * `{1, event...}` (event seq n is list index n - 1).
 */
export const READ_EVENTS = `${PRELUDE}
if redis.call("EXISTS", P .. "run:" .. ARGV[2]) == 0 then return {0} end
local out = {1}
for _, e in ipairs(range(P .. "ev:" .. ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]))) do out[#out + 1] = e end
return out
`;
