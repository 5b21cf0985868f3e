/**
 * For tests of what only a world shared between processes does: several world instances under one fresh key
 * prefix (each with its own connections, as separate processes would have), closed after each test, and polling
 * for what another instance hears.
 */
import type { StepTask } from "@wfkit/world";
import { Redis } from "ioredis";
import { afterEach, beforeEach } from "vitest";
import { createRedisWorld, type RedisWorld, type RedisWorldOptions } from "../redis-world.js";
import { getTestRedis, killClientsWith, type TestRedis } from "../testing/server.js";

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 5_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** A step task as an executor would offer it. */
export function stepTask(runId: string, correlationId: string, attempt = 1): StepTask {
  return { runId, correlationId, attempt, stepName: "step//./m//s", input: "[]", runStartedAt: 1 };
}

export interface SharedInstances {
  /** The server and the fresh prefix of the current test. */
  readonly redis: TestRedis;
  /** A plain connection to the server, for what no world method does (CLIENT KILL, raw keys). */
  readonly admin: Redis;
  /** Another world instance under the test's prefix (closed after the test). */
  open(opts?: Partial<RedisWorldOptions>): Promise<RedisWorld>;
  /** Kills the connections of a world instance (`role`: its command or subscriber connection, or both). */
  kill(world: RedisWorld, role?: "cmd" | "sub"): Promise<number>;
}

/** Registers the hooks in the calling describe block. */
export function sharedInstances(): SharedInstances {
  let redis: TestRedis | undefined;
  let admin: Redis | undefined;
  const worlds: RedisWorld[] = [];
  beforeEach(async () => {
    redis = await getTestRedis();
    admin = new Redis(redis.url);
    admin.on("error", () => {});
  });
  afterEach(async () => {
    for (const w of worlds.splice(0)) await w.close();
    admin?.disconnect();
    await redis?.cleanup();
  });
  const shared: SharedInstances = {
    get redis() {
      if (!redis) throw new Error("sharedInstances(): the server exists only inside tests");
      return redis;
    },
    get admin() {
      if (!admin) throw new Error("sharedInstances(): the admin connection exists only inside tests");
      return admin;
    },
    async open(opts = {}) {
      const { url, prefix } = shared.redis;
      const w = await createRedisWorld({ url, prefix, warn: () => {}, ...opts });
      worlds.push(w);
      return w;
    },
    async kill(world, role) {
      const names = role
        ? [`${world.connectionName}:${role}`]
        : [`${world.connectionName}:cmd`, `${world.connectionName}:sub`];
      return killClientsWith(shared.admin, (name) => names.includes(name));
    },
  };
  return shared;
}
