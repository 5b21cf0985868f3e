/**
 * Run output streams: a list per stream (`st:<len>:<run>:<name>`, chunk i at index i, so indexes are dense by
 * construction) and a hash beside it (`stm:…`) with the closed flag and the IDs of recent writes. A write is one
 * script: run check, closed check, RPUSH, close, PUBLISH. Scripts run one at a time, so concurrent writers to a
 * stream (from any process) each get a contiguous run of indexes and no reader ever sees a gap.
 */
import { PRELUDE } from "./prelude.js";

/** How many recent write IDs a stream remembers: a resend comes right after its connection broke. */
export const REMEMBERED_WRITES = 64;

/**
 * ARGV: 1 prefix, 2 runId, 3 stream key suffix, 4 stream name, 5 "1" to close, 6 write ID, 7 notification,
 * 8.. chunks. Answers `{"ok", nextIndex}`, `{"closed"}` or `{"not_found"}`. A write ID seen before answers what
 * that write answered, without writing again (a resend after a lost answer).
 */
export const WRITE_STREAM = `${PRELUDE}
local runId = ARGV[2]
if redis.call("EXISTS", P .. "run:" .. runId) == 0 then return {"not_found"} end
local list = P .. "st:" .. ARGV[3]
local meta = P .. "stm:" .. ARGV[3]
local writes = P .. "stw:" .. ARGV[3]
local earlier = redis.call("ZSCORE", writes, ARGV[6])
if earlier then return {"ok", tonumber(earlier)} end
if redis.call("HGET", meta, "closed") == "1" then return {"closed"} end
local chunks = slice(8, #ARGV - 7)
local n
if #chunks > 0 then
  call_list("RPUSH", list, chunks)
end
n = redis.call("LLEN", list)
if ARGV[5] == "1" then redis.call("HSET", meta, "closed", "1") end
redis.call("SADD", P .. "streams:" .. runId, ARGV[4])
redis.call("ZADD", writes, n, ARGV[6])
if redis.call("ZCARD", writes) > ${REMEMBERED_WRITES} then
  redis.call("ZREMRANGEBYRANK", writes, 0, -${REMEMBERED_WRITES + 1})
end
if #chunks > 0 or ARGV[5] == "1" then redis.call("PUBLISH", P .. "notify", ARGV[7]) end
return {"ok", n}
`;

/**
 * ARGV: 1 prefix, 2 runId, 3 stream key suffix, 4 start index, 5 how many (-1 = all). One snapshot, so a read
 * that says `closed` has every chunk. Answers `{0}` for an unknown run, else `{1, closed, chunk...}`.
 */
export const READ_STREAM = `${PRELUDE}
if redis.call("EXISTS", P .. "run:" .. ARGV[2]) == 0 then return {0} end
local closed = redis.call("HGET", P .. "stm:" .. ARGV[3], "closed") == "1" and 1 or 0
local out = {1, closed}
for _, c in ipairs(range(P .. "st:" .. ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]))) do out[#out + 1] = c end
return out
`;
