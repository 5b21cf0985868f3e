/**
 * `createWorld()`: the entry point the runtime calls for `WORKFLOW_TARGET_WORLD=redis`, configured entirely
 * from the environment so an app switches worlds without code changes.
 */
import { WorldError } from "@wfkit/world";
import { createRedisWorld, type RedisWorld, type RedisWorldOptions } from "./redis-world.js";

/**
 * Reads `WORKFLOW_REDIS_URL` (required), `WORKFLOW_REDIS_PREFIX` (default "wf:") and
 * `WORKFLOW_REDIS_REQUIRE_AOF` ("1"/"true": refuse a server without AOF; "always": also require
 * `appendfsync always`; "0"/"false": accept any server without a warning; unset: warn once when runs would not
 * survive a server restart).
 */
export function worldOptionsFromEnv(
  env: Record<string, string | undefined> = process.env,
): RedisWorldOptions {
  const options: RedisWorldOptions = {};
  if (env.WORKFLOW_REDIS_URL) options.url = env.WORKFLOW_REDIS_URL;
  if (env.WORKFLOW_REDIS_PREFIX) options.prefix = env.WORKFLOW_REDIS_PREFIX;
  const require = env.WORKFLOW_REDIS_REQUIRE_AOF?.trim().toLowerCase();
  if (require) {
    if (require === "1" || require === "true") options.requireDurability = true;
    else if (require === "always") options.requireDurability = "always";
    else if (require === "0" || require === "false") options.requireDurability = false;
    else {
      throw new WorldError(
        "INVALID_CONFIG",
        `WORKFLOW_REDIS_REQUIRE_AOF must be 1 (refuse a server without AOF), always (also require appendfsync ` +
          `always) or 0, got "${env.WORKFLOW_REDIS_REQUIRE_AOF}".`,
      );
    }
  }
  return options;
}

export function createWorld(): Promise<RedisWorld> {
  return createRedisWorld(worldOptionsFromEnv());
}
