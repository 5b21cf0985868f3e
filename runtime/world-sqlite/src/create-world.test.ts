import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { isWorldError } from "@wfkit/world";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { createWorld, worldOptionsFromEnv } from "./create-world.js";
import { LATEST_VERSION, MIGRATIONS } from "./migrations.js";
import { createSqliteWorld } from "./sqlite-world.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "wfkit-sqlite-env-"));
  dirs.push(dir);
  return dir;
}

describe("createWorld (WORKFLOW_TARGET_WORLD=sqlite)", () => {
  it("reads the path, synchronous mode and busy wait from the environment", () => {
    expect(worldOptionsFromEnv({})).toEqual({ path: resolve(".workflow-data/workflow.db") });
    expect(
      worldOptionsFromEnv({
        WORKFLOW_SQLITE_PATH: "data/app.db",
        WORKFLOW_SQLITE_SYNCHRONOUS: "FULL",
        WORKFLOW_SQLITE_BUSY_WAIT_MS: "5000",
      }),
    ).toEqual({ path: resolve("data/app.db"), synchronous: "full", busyWaitMs: 5000 });
  });

  it("refuses settings it cannot use, naming the variable and the values it takes", () => {
    expect(() => worldOptionsFromEnv({ WORKFLOW_SQLITE_SYNCHRONOUS: "off" })).toThrow(
      /WORKFLOW_SQLITE_SYNCHRONOUS must be "normal" .* or "full" .* got "off"/,
    );
    expect(() => worldOptionsFromEnv({ WORKFLOW_SQLITE_BUSY_WAIT_MS: "soon" })).toThrow(
      /WORKFLOW_SQLITE_BUSY_WAIT_MS must be a number of milliseconds >= 0 .* got "soon"/,
    );
  });

  it("opens the file it names, creating its folder, in WAL mode", async () => {
    const path = join(tempDir(), "deep", "er", "wf.db");
    const world = await createWorld({ WORKFLOW_SQLITE_PATH: path, WORKFLOW_SQLITE_SYNCHRONOUS: "full" });
    expect(world).toMatchObject({ name: "sqlite", path });
    await world.createRun({ workflowName: "wf", input: "[]" });
    await world.close();
    const raw = new Database(path, { readonly: true });
    expect(raw.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(raw.prepare("SELECT count(*) FROM runs").pluck().get()).toBe(1);
    raw.close();
  });

  it("explains a path it cannot open", async () => {
    const file = join(tempDir(), "a-file");
    await (await createSqliteWorld({ path: file })).close();
    await expect(createSqliteWorld({ path: join(file, "below-a-file.db") })).rejects.toThrow(
      /Could not open the SQLite database .*below-a-file\.db.*set WORKFLOW_SQLITE_PATH to another file/,
    );
  });

  it("refuses a database that a newer version of the package migrated, and leaves it alone", async () => {
    const path = join(tempDir(), "wf.db");
    await (await createSqliteWorld({ path })).close();
    const raw = new Database(path);
    raw.prepare("INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)").run(LATEST_VERSION + 1);
    raw.close();
    let error: unknown;
    try {
      await createSqliteWorld({ path });
    } catch (e) {
      error = e;
    }
    expect(isWorldError(error, "SCHEMA_TOO_NEW")).toBe(true);
    expect((error as Error).message).toMatch(/Upgrade @wfkit\/world-sqlite/);
  });

  it("reopening an up-to-date file applies nothing", async () => {
    const path = join(tempDir(), "wf.db");
    await (await createSqliteWorld({ path })).close();
    await (await createSqliteWorld({ path })).close();
    const raw = new Database(path, { readonly: true });
    expect(raw.prepare("SELECT version FROM schema_migrations").pluck().all()).toEqual(
      MIGRATIONS.map((m) => m.version),
    );
    raw.close();
  });
});
