/**
 * Flow gates: the hash `gate:<gateId>` (`s` engine-made JSON, `v` version, `u` updated-at ms by the server clock)
 * and the sorted set `gates` of live gate IDs (score 0: ordered by ID). A deleted gate keeps its hash with an
 * empty state so that its version never repeats (a compare-and-set against an old version must fail).
 */
import { PRELUDE } from "./prelude.js";

/**
 * ARGV: 1 prefix, 2 gateId, 3 expected version (0: no hash yet), 4 new state ("" deletes). Answers 1 when the
 * version still was the expected one and the state is stored, else 0.
 */
export const SET_GATE = `${PRELUDE}
local key = P .. "gate:" .. ARGV[2]
local v = tonumber(redis.call("HGET", key, "v") or "0")
if v ~= tonumber(ARGV[3]) then return 0 end
redis.call("HSET", key, "s", ARGV[4], "v", v + 1, "u", now_ms())
if ARGV[4] == "" then
  redis.call("ZREM", P .. "gates", ARGV[2])
else
  redis.call("ZADD", P .. "gates", 0, ARGV[2])
end
return 1
`;
