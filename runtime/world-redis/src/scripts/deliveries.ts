/**
 * Deliveries (events from outside a run, recorded without its lease): per run, the hash `dlv:<run>` of pending
 * deliveries (ID → JSON), `dlvq:<run>` (ID → recording order), `dlvat:<run>` (ID → recording time) and the set
 * `dlvdone:<run>` of consumed IDs (so a retried `deliver` of a consumed one stays a duplicate); across runs the
 * sorted set `dlvruns` (run → its oldest pending delivery's time) for the safety sweep. The append script
 * consumes them (scripts/runs.ts); the end of a run drops them all.
 */
import { PRELUDE } from "./prelude.js";

/**
 * ARGV: 1 prefix, 2 runId, 3 deliveryId, 4 the delivery's JSON up to `"createdAt":` (the script appends its
 * clock and the closing brace), 5 the world's origin (for the notification).
 * Answers `{"ok", createdAt, lastSeq, status}`, `{"pending", storedJson}`, `{"consumed", now}`, `{"not_found"}`
 * or `{"finished", status}`.
 */
export const DELIVER = `${PRELUDE}
local runId = ARGV[2]
local id = ARGV[3]
local runKey = P .. "run:" .. runId
local cur = redis.call("HMGET", runKey, "seq", "status")
if not cur[1] then return {"not_found"} end
if terminal(cur[2]) then return {"finished", cur[2]} end
local dlv = P .. "dlv:" .. runId
local stored = redis.call("HGET", dlv, id)
if stored then return {"pending", stored} end
local now = now_ms()
if redis.call("SISMEMBER", P .. "dlvdone:" .. runId, id) == 1 then return {"consumed", now} end
redis.call("HSET", dlv, id, ARGV[4] .. now .. "}")
redis.call("HSET", P .. "dlvat:" .. runId, id, now)
redis.call("ZADD", P .. "dlvq:" .. runId, redis.call("HINCRBY", runKey, "dn", 1), id)
redis.call("ZADD", P .. "dlvruns", "NX", now, runId)
redis.call("PUBLISH", P .. "notify", cjson.encode({
  o = ARGV[5], t = "r", runId = runId, lastSeq = tonumber(cur[1]), status = cur[2], kind = "delivered"
}))
return {"ok", now, cur[1], cur[2]}
`;

/** ARGV: 1 prefix, 2 runId. Answers `{0}` for an unknown run, else `{1, json...}` in the order recorded. */
export const LIST_DELIVERIES = `${PRELUDE}
local runId = ARGV[2]
if redis.call("EXISTS", P .. "run:" .. runId) == 0 then return {0} end
local ids = redis.call("ZRANGE", P .. "dlvq:" .. runId, 0, -1)
local out = {1}
for s = 1, #ids, 1000 do
  local part = redis.call("HMGET", P .. "dlv:" .. runId, unpack(ids, s, math.min(#ids, s + 999)))
  for _, v in ipairs(part) do out[#out + 1] = v end
end
return out
`;
