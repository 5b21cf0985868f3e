import { runWorldConformance } from "@wfkit/world/conformance";
import { createRedisWorld } from "./redis-world.js";
import { getTestRedis } from "./testing/server.js";

runWorldConformance("redis", async () => {
  const redis = await getTestRedis();
  const open = () => createRedisWorld({ url: redis.url, prefix: redis.prefix, warn: () => {} });
  return { world: await open(), reopen: open, concurrent: open, cleanup: redis.cleanup };
});
