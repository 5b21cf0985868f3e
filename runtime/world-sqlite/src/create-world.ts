/**
 * `createWorld()`: the entry point the runtime calls for `WORKFLOW_TARGET_WORLD=sqlite`, configured entirely from
 * the environment so that an app switches worlds without code changes.
 */
import { WorldError } from "@wfkit/world";
import { createSqliteWorld, defaultPath, type SqliteWorld, type SqliteWorldOptions } from "./sqlite-world.js";

/**
 * Reads `WORKFLOW_SQLITE_PATH` (default `<cwd>/.workflow-data/workflow.db`), `WORKFLOW_SQLITE_SYNCHRONOUS`
 * (`normal`, the default, or `full`) and `WORKFLOW_SQLITE_BUSY_WAIT_MS` (default 30000).
 */
export function worldOptionsFromEnv(
  env: Record<string, string | undefined> = process.env,
): SqliteWorldOptions {
  const options: SqliteWorldOptions = { path: defaultPath(env) };
  const sync = env.WORKFLOW_SQLITE_SYNCHRONOUS?.trim().toLowerCase();
  if (sync) {
    if (sync !== "normal" && sync !== "full") {
      throw new WorldError(
        "INVALID_CONFIG",
        `WORKFLOW_SQLITE_SYNCHRONOUS must be "normal" (survives process crashes) or "full" (also survives power ` +
          `loss, one fsync per write), got "${env.WORKFLOW_SQLITE_SYNCHRONOUS}".`,
      );
    }
    options.synchronous = sync;
  }
  const wait = env.WORKFLOW_SQLITE_BUSY_WAIT_MS?.trim();
  if (wait) {
    const n = Number(wait);
    if (!Number.isFinite(n) || n < 0) {
      throw new WorldError(
        "INVALID_CONFIG",
        `WORKFLOW_SQLITE_BUSY_WAIT_MS must be a number of milliseconds >= 0 (how long a write waits for another ` +
          `process's lock), got "${wait}".`,
      );
    }
    options.busyWaitMs = n;
  }
  return options;
}

export function createWorld(env: Record<string, string | undefined> = process.env): Promise<SqliteWorld> {
  return createSqliteWorld(worldOptionsFromEnv(env));
}
