import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isWorldError, type RunNotification } from "@wfkit/world";
import { afterEach, describe, expect, it } from "vitest";
import { createSqliteWorld, type SqliteWorld } from "./sqlite-world.js";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function open(path: string): Promise<SqliteWorld> {
  const world = await createSqliteWorld({ path });
  cleanups.push(() => world.close());
  return world;
}

describe("group commit", () => {
  it("writes issued together share a transaction; a refused one rolls back alone and notifies nobody", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wfkit-sqlite-group-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const world = await open(join(dir, "workflow.db"));
    const other = await open(join(dir, "workflow.db"));
    const runs = await Promise.all(
      Array.from({ length: 20 }, () => world.createRun({ workflowName: "wf", input: "[]" })),
    );
    const heard: RunNotification[] = [];
    other.subscribe((n) => heard.push(n));
    const before = world.writeStats;
    const results = await Promise.allSettled(
      runs.map(({ run }, i) =>
        // Run 7's append names a stale head: refused, while its neighbours in the batch commit.
        world.append(run.runId, i === 7 ? 5 : 1, [{ type: "run_started" }]),
      ),
    );
    const after = world.writeStats;
    expect(after.writes - before.writes).toBe(20);
    expect(after.transactions - before.transactions).toBeLessThan(20);

    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(19);
    const refused = results[7] as PromiseRejectedResult;
    expect(isWorldError(refused.reason, "APPEND_CONFLICT")).toBe(true);
    for (const [i, { run }] of runs.entries()) {
      expect((await world.getRun(run.runId))!.lastSeq).toBe(i === 7 ? 1 : 2);
    }
    // The other instance hears the 19 appends (and nothing of the refused one), with no gap in the change feed.
    const deadline = Date.now() + 5_000;
    while (heard.length < 19 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(heard.map((n) => n.runId).sort()).toEqual(
      runs
        .filter((_, i) => i !== 7)
        .map(({ run }) => run.runId)
        .sort(),
    );
    // The refused run's cached state was not advanced: its next append at the real head goes through.
    expect((await world.append(runs[7]!.run.runId, 1, [{ type: "run_started" }])).run.lastSeq).toBe(2);
  });

  it("writes issued from different callbacks of one turn of the event loop share a transaction", async () => {
    const dir = mkdtempSync(join(tmpdir(), "wfkit-sqlite-group-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const world = await open(join(dir, "workflow.db"));
    const runs = await Promise.all(
      Array.from({ length: 10 }, () => world.createRun({ workflowName: "wf", input: "[]" })),
    );
    const before = world.writeStats;
    // As the engine issues them: each from its own callback (a step body that finished), not from one loop.
    const appends = runs.map(
      ({ run }) =>
        new Promise((resolve, reject) =>
          setImmediate(() => world.append(run.runId, 1, [{ type: "run_started" }]).then(resolve, reject)),
        ),
    );
    await Promise.all(appends);
    const after = world.writeStats;
    expect(after.writes - before.writes).toBe(10);
    expect(after.transactions - before.transactions).toBe(1);
  });
});
