/**
 * Leases: four fields of the run hash (`lo` owner, `lt` fencing token, `le` expiry in server-clock ms, `lh`
 * held) and the sorted set `leases` (run → expiry) of held leases of unfinished runs, which is what
 * `listAbandoned` reads. Each operation is one script, so concurrent acquirers are serialised by Redis and
 * exactly one wins; the token grows by one with every new holder.
 */
import { PRELUDE } from "./prelude.js";

/** ARGV: 1 prefix, 2 runId, 3 owner, 4 ttl ms. Answers `{"ok", token, expiresAt}`, `{"held"}` or `{"not_found"}`. */
export const ACQUIRE_LEASE = `${PRELUDE}
local runId = ARGV[2]
local runKey = P .. "run:" .. runId
local cur = redis.call("HMGET", runKey, "status", "lo", "lt", "le", "lh")
if not cur[1] then return {"not_found"} end
local now = now_ms()
local token = tonumber(cur[3] or "0")
if cur[5] == "1" and tonumber(cur[4]) > now then
  -- Held and unexpired: its owner renews it with the same token, anyone else is refused.
  if cur[2] ~= ARGV[3] then return {"held"} end
else
  token = token + 1
end
local expires = now + tonumber(ARGV[4])
redis.call("HSET", runKey, "lo", ARGV[3], "lt", token, "le", expires, "lh", "1")
if not terminal(cur[1]) then redis.call("ZADD", P .. "leases", expires, runId) end
return {"ok", token, expires}
`;

/**
 * ARGV: 1 prefix, 2 runId, 3 owner, 4 token, 5 ttl ms. Extends the lease while nobody took or released it (even
 * after expiry). Answers `{"ok", expiresAt}` or `{"lost"}`.
 */
export const RENEW_LEASE = `${PRELUDE}
local runId = ARGV[2]
local runKey = P .. "run:" .. runId
local cur = redis.call("HMGET", runKey, "status", "lo", "lt", "lh")
if cur[4] ~= "1" or cur[2] ~= ARGV[3] or cur[3] ~= ARGV[4] then return {"lost"} end
local expires = now_ms() + tonumber(ARGV[5])
redis.call("HSET", runKey, "le", expires)
if not terminal(cur[1]) then redis.call("ZADD", P .. "leases", expires, runId) end
return {"ok", expires}
`;

/** ARGV: 1 prefix, 2 runId, 3 owner, 4 token. Frees the lease if it is still this one. */
export const RELEASE_LEASE = `${PRELUDE}
local runId = ARGV[2]
local runKey = P .. "run:" .. runId
local cur = redis.call("HMGET", runKey, "lo", "lt", "lh")
if cur[3] ~= "1" or cur[1] ~= ARGV[3] or cur[2] ~= ARGV[4] then return 0 end
redis.call("HSET", runKey, "lh", "0")
redis.call("ZREM", P .. "leases", runId)
return 1
`;
