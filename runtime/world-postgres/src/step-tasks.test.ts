/**
 * Step tasks between world instances on one schema (as separate processes would have them): notifications
 * cross over LISTEN/NOTIFY, claims split the tasks, and a world's own notification is heard once.
 */
import type { StepTaskNotification } from "@wfkit/world";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { migrate } from "./migrations.js";
import { createPostgresWorld, type PostgresWorld } from "./postgres-world.js";
import { getTestDatabase, type TestDatabase } from "./testing/database.js";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function until(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe("postgres step tasks across world instances", () => {
  let db: TestDatabase;
  const worlds: PostgresWorld[] = [];
  const open = async () => {
    const w = await createPostgresWorld({ url: db.url, schema: db.schema, poolSize: 4 });
    worlds.push(w);
    return w;
  };

  beforeAll(async () => {
    db = await getTestDatabase();
  });
  afterEach(async () => {
    for (const w of worlds.splice(0)) await w.close();
  });
  afterAll(async () => {
    await db.cleanup();
  });

  it("an offer on one instance wakes claimers on another; the completion reaches the offering instance once", async () => {
    const executor = await open();
    const worker = await open();
    const { run } = await executor.createRun({ workflowName: "wf", input: "[]" });
    const atWorker: StepTaskNotification[] = [];
    const atExecutor: StepTaskNotification[] = [];
    worker.subscribeStepTasks((n) => atWorker.push(n));
    executor.subscribeStepTasks((n) => atExecutor.push(n));

    await executor.offerStepTasks([
      {
        runId: run.runId,
        correlationId: "step_0001",
        attempt: 1,
        stepName: "step//./m//s",
        input: '["a"]',
        runStartedAt: run.createdAt,
      },
    ]);
    await until(() => atWorker.some((n) => n.kind === "offered"), "the worker hearing the offer");
    const [task] = await worker.claimStepTasks("W", 60_000, 5);
    expect(task).toMatchObject({ correlationId: "step_0001", input: '["a"]', runStartedAt: run.createdAt });
    expect(await worker.completeStepTask(task!, { type: "step_completed", data: { output: '"v"' } })).toBe(
      true,
    );
    // Small outcomes travel in the notification (the executor then reads nothing).
    const completed = {
      kind: "completed",
      runId: run.runId,
      correlationId: "step_0001",
      attempt: 1,
      outcome: { type: "step_completed", data: { output: '"v"' } },
    };
    await until(() => atExecutor.some((n) => n.kind === "completed"), "the executor hearing the completion");
    expect((await executor.listStepTasks(run.runId))[0]).toMatchObject({
      status: "completed",
      outcome: { type: "step_completed", data: { output: '"v"' } },
    });
    // Each instance hears its own change once (delivered locally; the echo through Postgres is skipped).
    await sleep(200);
    expect(atExecutor.filter((n) => n.kind === "offered")).toHaveLength(1);
    expect(atWorker.filter((n) => n.kind === "completed")).toEqual([completed]);
    expect(atExecutor.filter((n) => n.kind === "completed")).toEqual([completed]);
  });

  it("a completion whose outcome is too large for a NOTIFY payload arrives without it", async () => {
    const executor = await open();
    const worker = await open();
    const { run } = await executor.createRun({ workflowName: "wf", input: "[]" });
    const heard: StepTaskNotification[] = [];
    executor.subscribeStepTasks((n) => heard.push(n));
    await executor.offerStepTasks([
      {
        runId: run.runId,
        correlationId: "step_0001",
        attempt: 1,
        stepName: "step//./m//s",
        input: "[]",
        runStartedAt: run.createdAt,
      },
    ]);
    const [task] = await worker.claimStepTasks("W", 60_000, 1);
    const big = { type: "step_completed" as const, data: { output: JSON.stringify("x".repeat(20_000)) } };
    expect(await worker.completeStepTask(task!, big)).toBe(true);
    await until(() => heard.some((n) => n.kind === "completed"), "the completion");
    expect(heard.find((n) => n.kind === "completed")).toEqual({
      kind: "completed",
      runId: run.runId,
      correlationId: "step_0001",
      attempt: 1,
    });
    expect((await executor.listStepTasks(run.runId))[0]!.outcome).toEqual(big);
  });

  it("migration 3 is applied to a schema that already has a later version (written in parallel)", async () => {
    await open();
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    try {
      const s = `"${db.schema}"`;
      await admin.query(
        `DROP TABLE ${s}.step_tasks; DROP SEQUENCE ${s}.step_task_offers, ${s}.step_task_claims`,
      );
      await admin.query(`DELETE FROM ${s}.schema_migrations WHERE version = 3`);
      const result = await migrate(db.url, db.schema);
      expect(result.applied).toEqual([3]);
      const { rows } = await admin.query("SELECT to_regclass($1) IS NOT NULL AS ok", [`${s}.step_tasks`]);
      expect(rows[0].ok).toBe(true);
    } finally {
      await admin.end();
    }
  });

  it("workers on separate instances split a batch of tasks between them", async () => {
    const executor = await open();
    const claimers = [await open(), await open(), await open()];
    const { run } = await executor.createRun({ workflowName: "wf", input: "[]" });
    const cids = Array.from({ length: 30 }, (_, i) => `step_${String(i + 1).padStart(4, "0")}`);
    await executor.offerStepTasks(
      cids.map((correlationId) => ({
        runId: run.runId,
        correlationId,
        attempt: 1,
        stepName: "step//./m//s",
        input: "[]",
        runStartedAt: run.createdAt,
      })),
    );
    const rounds = await Promise.all(
      claimers.flatMap((w, i) => [
        w.claimStepTasks(`W${i}`, 60_000, 4),
        w.claimStepTasks(`W${i}`, 60_000, 4),
      ]),
    );
    const got = rounds.flat().map((t) => t.correlationId);
    expect(got).toHaveLength(24);
    expect(new Set(got).size).toBe(24);
  });
});
