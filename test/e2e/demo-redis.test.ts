/**
 * The same demo app, unchanged, on the Redis world (`WORKFLOW_TARGET_WORLD=redis`): it completes and the process
 * exits by itself once its run has ended.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createRedisWorld } from "@wfkit/world-redis";
import { getTestRedis } from "@wfkit/world-redis/testing";
import { expect, it } from "vitest";

const exampleDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../examples/node-basic");

it("the node-basic order demo runs unchanged on the Redis world and exits by itself", async () => {
  const redis = await getTestRedis();
  try {
    const child = spawn(process.execPath, ["--import", "workflow/register", "src/main.ts"], {
      cwd: exampleDir,
      env: {
        ...process.env,
        WORKFLOW_TARGET_WORLD: "redis",
        WORKFLOW_REDIS_URL: redis.url,
        WORKFLOW_REDIS_PREFIX: redis.prefix,
        ORDER_COOLING_OFF: "200ms",
      },
    });
    let out = "";
    child.stdout.on("data", (c) => (out += c));
    child.stderr.on("data", (c) => (out += c));
    const code = await new Promise((resolve) => child.on("close", resolve));
    expect(code, out).toBe(0);
    expect(out).toMatch(/charged \$148\.00 on attempt 3/);
    expect(out).toMatch(/ship\s+handed ord_\w+ to the carrier/);
    expect(out).toMatch(/completed:/);
    // The run is in Redis under the app's prefix, not in the local world's files.
    const world = await createRedisWorld({ url: redis.url, prefix: redis.prefix, warn: () => {} });
    try {
      expect((await world.listRuns()).items.map((r) => r.status)).toEqual(["completed"]);
    } finally {
      await world.close();
    }
  } finally {
    await redis.cleanup();
  }
}, 60_000);
