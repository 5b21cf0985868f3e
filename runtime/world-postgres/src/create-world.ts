/**
 * `createWorld()`: the entry point the runtime calls for `WORKFLOW_TARGET_WORLD=postgres`, configured
 * entirely from the environment so an app switches worlds without code changes.
 */
import { WorldError } from "@wfkit/world";
import { createPostgresWorld, type PostgresWorld, type PostgresWorldOptions } from "./postgres-world.js";

/**
 * Reads `WORKFLOW_POSTGRES_URL` (required), `WORKFLOW_POSTGRES_SCHEMA` (default "workflow"),
 * `WORKFLOW_POSTGRES_POOL_SIZE` (default 10) and `WORKFLOW_POSTGRES_MIGRATE` ("false" to refuse an
 * outdated schema instead of migrating it).
 */
export function worldOptionsFromEnv(
  env: Record<string, string | undefined> = process.env,
): PostgresWorldOptions {
  const options: PostgresWorldOptions = {};
  if (env.WORKFLOW_POSTGRES_URL) options.url = env.WORKFLOW_POSTGRES_URL;
  if (env.WORKFLOW_POSTGRES_SCHEMA) options.schema = env.WORKFLOW_POSTGRES_SCHEMA;
  const pool = env.WORKFLOW_POSTGRES_POOL_SIZE;
  if (pool) {
    const n = Number(pool);
    if (!Number.isInteger(n) || n < 1) {
      throw new WorldError(
        "INVALID_CONFIG",
        `WORKFLOW_POSTGRES_POOL_SIZE must be a positive integer (connections per process), got "${pool}".`,
      );
    }
    options.poolSize = n;
  }
  if (env.WORKFLOW_POSTGRES_MIGRATE === "false") options.migrate = false;
  return options;
}

/** `env`: the environment the runtime selected the world from (`worldFromEnv(env)`, the CLI's `--postgres-url`). */
export function createWorld(env: Record<string, string | undefined> = process.env): Promise<PostgresWorld> {
  return createPostgresWorld(worldOptionsFromEnv(env));
}
