export { createWorld, worldOptionsFromEnv } from "./create-world.js";
export type { DurabilityReport, DurabilityRequirement } from "./durability.js";
export { DEFAULT_PREFIX } from "./keys.js";
export { createRedisWorld, type RedisWorld, type RedisWorldOptions } from "./redis-world.js";
