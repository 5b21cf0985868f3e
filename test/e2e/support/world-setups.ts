/**
 * One fixture project on each world, for e2e tests whose processes share a world with the test: the test's own
 * world instance, the environment that points a spawned process at the same storage, and the cleanup.
 */
import type { World } from "@wfkit/world";
import { createLocalWorld } from "@wfkit/world-local";
import { createPostgresWorld } from "@wfkit/world-postgres";
import { getTestDatabase } from "@wfkit/world-postgres/testing";
import { createRedisWorld } from "@wfkit/world-redis";
import { getTestRedis } from "@wfkit/world-redis/testing";
import { createSqliteWorld } from "@wfkit/world-sqlite";
import { copyProject, type Project } from "./process.js";

export interface WorldSetup {
  project: Project;
  env: Record<string, string>;
  world: World;
  cleanup(): Promise<void>;
}

export type WorldName = "local" | "postgres" | "sqlite" | "redis";

/** `env(project)`: what every process of the test needs besides the world's own variables. */
export function worldSetups(
  projectName: string,
  env: (project: Project) => Record<string, string>,
): Record<WorldName, () => Promise<WorldSetup>> {
  const setup = async (
    open: (
      project: Project,
    ) => Promise<{ world: World; env: Record<string, string>; release?: () => Promise<void> }>,
  ): Promise<WorldSetup> => {
    const project = copyProject(projectName);
    const opened = await open(project);
    return {
      project,
      world: opened.world,
      env: { ...opened.env, ...env(project) },
      cleanup: async () => {
        await opened.world.close();
        await opened.release?.();
        project.cleanup();
      },
    };
  };
  return {
    local: () =>
      setup(async (project) => ({
        world: createLocalWorld({ dataDir: project.dataDir }),
        env: { WORKFLOW_TARGET_WORLD: "local" },
      })),
    postgres: () =>
      setup(async () => {
        const db = await getTestDatabase();
        return {
          world: await createPostgresWorld({ url: db.url, schema: db.schema }),
          env: {
            WORKFLOW_TARGET_WORLD: "postgres",
            WORKFLOW_POSTGRES_URL: db.url,
            WORKFLOW_POSTGRES_SCHEMA: db.schema,
          },
          release: () => db.cleanup(),
        };
      }),
    sqlite: () =>
      setup(async (project) => {
        const path = project.file("workflow.db");
        return {
          world: await createSqliteWorld({ path }),
          env: { WORKFLOW_TARGET_WORLD: "sqlite", WORKFLOW_SQLITE_PATH: path },
        };
      }),
    redis: () =>
      setup(async () => {
        const redis = await getTestRedis();
        return {
          world: await createRedisWorld({ url: redis.url, prefix: redis.prefix, warn: () => {} }),
          env: {
            WORKFLOW_TARGET_WORLD: "redis",
            WORKFLOW_REDIS_URL: redis.url,
            WORKFLOW_REDIS_PREFIX: redis.prefix,
            // The test server keeps nothing on disk on purpose: no durability warning on stderr.
            WORKFLOW_REDIS_REQUIRE_AOF: "0",
          },
          release: () => redis.cleanup(),
        };
      }),
  };
}

/** The environment that points a spawned process at a fresh local data folder or Postgres schema (no world opened here). */
export async function worldEnv(
  kind: "local" | "postgres",
  project: Project,
): Promise<{ env: Record<string, string>; cleanup(): Promise<void> }> {
  if (kind === "local") {
    return {
      env: { WORKFLOW_TARGET_WORLD: "local", WORKFLOW_LOCAL_DATA_DIR: project.dataDir },
      cleanup: async () => {},
    };
  }
  const db = await getTestDatabase();
  return {
    env: {
      WORKFLOW_TARGET_WORLD: "postgres",
      WORKFLOW_POSTGRES_URL: db.url,
      WORKFLOW_POSTGRES_SCHEMA: db.schema,
    },
    cleanup: () => db.cleanup(),
  };
}
