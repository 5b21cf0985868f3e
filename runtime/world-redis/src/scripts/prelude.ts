/**
 * The Lua every script of this world starts with. Scripts build their keys from the prefix in ARGV[1] (the
 * layout of `keys.ts`), judge time by the server's clock (one clock for every process and machine), and check
 * everything before they write anything: Redis does not roll a script back when it stops half-way, so a
 * refusal must come before the first write.
 *
 * Keys are not declared in KEYS (most are derived from the events), so the world needs a standalone Redis
 * (or a Sentinel-managed primary), not Redis Cluster.
 */
export const PRELUDE = `
local P = ARGV[1]
local function now_ms()
  local t = redis.call("TIME")
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function terminal(status)
  return status == "completed" or status == "failed" or status == "cancelled"
end
-- ARGV[from .. from + n - 1] as a Lua array
local function slice(from, n)
  local t = {}
  for k = 0, n - 1 do t[k + 1] = ARGV[from + k] end
  return t
end
-- cmd key list..., in chunks that unpack() can take (an even size keeps field/value pairs together)
local function call_list(cmd, key, list)
  for s = 1, #list, 1000 do
    redis.call(cmd, key, unpack(list, s, math.min(#list, s + 999)))
  end
end
-- count items of a list from index start (count -1: to the end; LRANGE alone cannot say "none")
local function range(key, start, count)
  if count == 0 then return {} end
  return redis.call("LRANGE", key, start, count < 0 and -1 or start + count - 1)
end
`;
