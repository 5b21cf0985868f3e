/**
 * Which world an operator command reads and steers: `--world`, `--data-dir`, `--postgres-url`, else the app's own
 * settings (`WORKFLOW_TARGET_WORLD`, `WORKFLOW_LOCAL_DATA_DIR`, `WORKFLOW_POSTGRES_URL`, …), so `wf` run from the
 * project folder sees what the app sees. Every world here can be opened by a second process while the app runs.
 *
 * The CLI never executes runs: its engine has no workflow code and `executeRuns: false`, so it only records (a new
 * run, a cancellation, a retry, a hook payload) and the app's processes or workers do the work.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { Engine, type World, worldFromEnv } from "@wfkit/core";
import { type Command, Option } from "commander";
import type { CliIo } from "./io.js";
import { redact } from "./redact.js";

export interface WorldFlags {
  world?: string;
  dataDir?: string;
  postgresUrl?: string;
  redisUrl?: string;
}

const WORLDS = ["local", "postgres", "sqlite", "redis", "vercel", "memory"];

export function addWorldOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        "--world <name>",
        `the world to open: ${WORLDS.join(", ")}, or a module that exports createWorld() (default: $WORKFLOW_TARGET_WORLD, else local)`,
      ),
    )
    .option(
      "--data-dir <dir>",
      "local world folder, or the folder of the SQLite file (default: .workflow-data)",
    )
    .option("--postgres-url <url>", "Postgres connection string (default: $WORKFLOW_POSTGRES_URL)")
    .option("--redis-url <url>", "Redis connection string (default: $WORKFLOW_REDIS_URL)");
}

/** The environment the world is created from: the process's, with the flags applied. */
export function worldEnv(flags: WorldFlags, io: CliIo): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env };
  if (flags.world) env.WORKFLOW_TARGET_WORLD = flags.world;
  if (!env.WORKFLOW_TARGET_WORLD && flags.postgresUrl) env.WORKFLOW_TARGET_WORLD = "postgres";
  if (!env.WORKFLOW_TARGET_WORLD && flags.redisUrl) env.WORKFLOW_TARGET_WORLD = "redis";
  const dataDir = flags.dataDir ?? env.WORKFLOW_LOCAL_DATA_DIR ?? ".workflow-data";
  env.WORKFLOW_LOCAL_DATA_DIR = path.resolve(io.cwd(), dataDir);
  if (flags.dataDir || !env.WORKFLOW_SQLITE_PATH) {
    env.WORKFLOW_SQLITE_PATH = path.join(env.WORKFLOW_LOCAL_DATA_DIR, "workflow.db");
  }
  if (flags.postgresUrl) env.WORKFLOW_POSTGRES_URL = flags.postgresUrl;
  if (flags.redisUrl) env.WORKFLOW_REDIS_URL = flags.redisUrl;
  return env;
}

/** A world and an engine that records without executing; `close()` releases both so the process can exit. */
export interface OpenedWorld {
  world: World;
  engine: Engine;
  close(): Promise<void>;
}

/**
 * `create`: whether the command may create a world that does not exist yet (only `wf start`). Opening the local or
 * SQLite world creates its files, so a mistyped `--data-dir` would otherwise show an empty world instead of an error.
 */
export async function openWorld(
  flags: WorldFlags,
  io: CliIo,
  opts: { create?: boolean } = {},
): Promise<OpenedWorld> {
  const env = worldEnv(flags, io);
  const target = env.WORKFLOW_TARGET_WORLD?.trim() || "local";
  const location =
    target === "local"
      ? env.WORKFLOW_LOCAL_DATA_DIR
      : target === "sqlite"
        ? env.WORKFLOW_SQLITE_PATH
        : undefined;
  if (location && !opts.create && !existsSync(location)) {
    throw new UsageError(
      `there is no ${target} world at ${location}: nothing has run there yet. Run wf from the project folder, or ` +
        `pass --data-dir <dir> (or set ${target === "local" ? "WORKFLOW_LOCAL_DATA_DIR" : "WORKFLOW_SQLITE_PATH"}).`,
    );
  }
  if (env.WORKFLOW_TARGET_WORLD === "memory") {
    io.err("wf: note: the memory world lives inside one process; this command sees an empty world.\n");
  }
  const world = await worldFromEnv(env);
  const engine = new Engine({
    world,
    executeRuns: false,
    sweepIntervalMs: false,
    // An operator command reports its own failures; background noise has no place in its output.
    onError: () => {},
  });
  return {
    world,
    engine,
    async close() {
      engine.close();
      await world.close();
    },
  };
}

/**
 * Runs a command's body against the chosen world and always closes it; a thrown error becomes one line on stderr
 * (prefixed with the command) and exit code 1.
 */
export async function withWorld(
  name: string,
  flags: WorldFlags,
  io: CliIo,
  body: (opened: OpenedWorld) => Promise<void>,
  opts: { create?: boolean } = {},
): Promise<void> {
  let opened: OpenedWorld | undefined;
  try {
    opened = await openWorld(flags, io, opts);
    await body(opened);
  } catch (error) {
    const message = (error as Error)?.message ?? String(error);
    io.err(`wf ${name}: ${redact(message, worldEnv(flags, io).WORKFLOW_POSTGRES_URL)}\n`);
    io.exit(1);
  } finally {
    await opened?.close().catch(() => {});
  }
}

/** A usage error found by a command itself: one line naming the problem and the fix, exit code 1. */
export class UsageError extends Error {}
