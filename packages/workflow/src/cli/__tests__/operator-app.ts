/**
 * "The app" for operator command tests: a world of the kind under test, an engine that executes runs of
 * hand-written workflow bundles (the engine's test harness) and listens like a worker, so that what the CLI
 * records (a new run, a retry, a fork, a hook payload) is carried out by another world instance, as by another
 * process. The CLI opens its own world instance per command.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Engine, type World, worldFromEnv } from "@wfkit/core";
import { registerStep, TestCode } from "../../../../../runtime/core/src/engine/__tests__/harness.js";
import { getTestDatabase } from "../../../../../runtime/world-postgres/src/testing/database.js";

export { registerStep };

export interface OperatorApp {
  kind: "local" | "postgres";
  world: World;
  engine: Engine;
  /** The world flags a `wf` command needs to open the same storage. */
  flags: string[];
  close(): Promise<void>;
}

export async function startApp(
  kind: "local" | "postgres",
  workflows: Record<string, string>,
): Promise<OperatorApp> {
  let env: Record<string, string>;
  let flags: string[];
  let cleanup: () => Promise<void>;
  if (kind === "local") {
    const dataDir = mkdtempSync(path.join(tmpdir(), "wf-ops-"));
    env = { WORKFLOW_TARGET_WORLD: "local", WORKFLOW_LOCAL_DATA_DIR: dataDir };
    flags = ["--world", "local", "--data-dir", dataDir];
    cleanup = async () => rmSync(dataDir, { recursive: true, force: true });
  } else {
    const db = await getTestDatabase();
    // The CLI has no schema flag: it reads WORKFLOW_POSTGRES_SCHEMA like the app.
    process.env.WORKFLOW_POSTGRES_SCHEMA = db.schema;
    env = {
      WORKFLOW_TARGET_WORLD: "postgres",
      WORKFLOW_POSTGRES_URL: db.url,
      WORKFLOW_POSTGRES_SCHEMA: db.schema,
    };
    flags = ["--world", "postgres", "--postgres-url", db.url];
    cleanup = () => db.cleanup();
  }
  const world = await worldFromEnv(env);
  const engine = new Engine({
    world,
    codeProvider: new TestCode(workflows),
    retryBaseMs: 5,
    retryMaxMs: 50,
    sweepIntervalMs: 100,
    leaseTtlMs: 2_000,
    onError: () => {},
  });
  const stopListening = engine.listen();
  return {
    kind,
    world,
    engine,
    flags,
    async close() {
      stopListening();
      engine.close();
      await world.close();
      await cleanup();
    },
  };
}

/** Polls until `check` holds (a run the app executes after a CLI command). */
export async function eventually<T>(
  read: () => Promise<T>,
  check: (value: T) => boolean,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (check(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`not reached within ${timeoutMs} ms; last: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
