import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isWorldError } from "@wfkit/world";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { createSqliteWorld, type SqliteWorld } from "./sqlite-world.js";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setUp(opts: Parameters<typeof createSqliteWorld>[0] = {}) {
  const dir = mkdtempSync(join(tmpdir(), "wfkit-sqlite-busy-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "workflow.db");
  const world = await createSqliteWorld({ path, ...opts });
  cleanups.push(() => world.close());
  // Another connection (as another process would hold it): BEGIN IMMEDIATE takes the write lock until COMMIT.
  const other = new Database(path, { timeout: 0 });
  cleanups.push(() => other.close());
  return { world, other };
}

describe("a write that finds the database locked by another connection", () => {
  it("waits on timers, so the event loop keeps running, and goes through once the lock is released", async () => {
    const { world, other } = await setUp();
    const { run } = await world.createRun({ workflowName: "wf", input: "[]" });
    other.exec("BEGIN IMMEDIATE");
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 5);
    const append = world.append(run.runId, 1, [{ type: "run_started" }]);
    let settled = false;
    void append.finally(() => {
      settled = true;
    });
    await new Promise((r) => setTimeout(r, 150));
    expect(settled).toBe(false);
    // Timers fired while the append waited: with a blocking busy_timeout they could not have.
    expect(ticks).toBeGreaterThan(3);
    expect((world as SqliteWorld).busyRetries).toBeGreaterThan(0);
    other.exec("COMMIT");
    expect((await append).run.lastSeq).toBe(2);
    clearInterval(ticker);
  });

  it("gives up after busyWaitMs with DATABASE_BUSY, saying what holds it, and leaves nothing behind", async () => {
    const { world, other } = await setUp({ busyWaitMs: 100 });
    const { run } = await world.createRun({ workflowName: "wf", input: "[]" });
    other.exec("BEGIN IMMEDIATE");
    let error: unknown;
    try {
      await world.append(run.runId, 1, [{ type: "run_started" }]);
    } catch (e) {
      error = e;
    }
    other.exec("COMMIT");
    expect(isWorldError(error, "DATABASE_BUSY")).toBe(true);
    expect((error as Error).message).toMatch(/stayed locked by another connection for more than 100 ms/);
    expect((await world.getRun(run.runId))!.lastSeq).toBe(1);
    // The state the world caches for appends was not advanced by the refused write.
    expect((await world.append(run.runId, 1, [{ type: "run_started" }])).run.lastSeq).toBe(2);
  });

  it("reads are not blocked by a writer (WAL)", async () => {
    const { world, other } = await setUp();
    const { run } = await world.createRun({ workflowName: "wf", input: "[]" });
    other.exec("BEGIN IMMEDIATE");
    other.prepare("UPDATE runs SET workflow_name = 'x'").run();
    expect((await world.getRun(run.runId))!.workflowName).toBe("wf");
    expect(await world.readEvents(run.runId)).toHaveLength(1);
    other.exec("ROLLBACK");
    expect((world as SqliteWorld).busyRetries).toBe(0);
  });
});
