/** A SQLite world over a database file inside the test's project copy, as its child processes open it. */
import { createSqliteWorld } from "@wfkit/world-sqlite";
import Database from "better-sqlite3";
import { expect } from "vitest";
import type { Project } from "./process.js";
import type { SharedWorld } from "./worker-scenarios.js";

export async function openSqlite(project: Project): Promise<SharedWorld> {
  const path = project.file("workflow.db");
  const world = await createSqliteWorld({ path });
  /** Reads the file directly, read-only, beside the world (as a `sqlite3` shell would). */
  const raw = <T>(read: (db: Database.Database) => T): T => {
    const db = new Database(path, { readonly: true });
    try {
      return read(db);
    } finally {
      db.close();
    }
  };
  return {
    world,
    env: { WORKFLOW_TARGET_WORLD: "sqlite", WORKFLOW_SQLITE_PATH: path },
    executorOf: async (runId) =>
      raw(
        (db) =>
          db.prepare("SELECT lease_owner FROM runs WHERE run_id = ?").pluck().get(runId) as string | null,
      ) ?? undefined,
    // The file is sound after every kill of the scenario.
    verify: async () => expect(raw((db) => db.pragma("integrity_check", { simple: true }))).toBe("ok"),
    close: () => world.close(),
  };
}
