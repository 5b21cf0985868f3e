import { createMemoryWorld, type World } from "@wfkit/world";
import { afterEach, describe, expect, it } from "vitest";
import { harness, registerStep, TestCode } from "../engine/__tests__/harness.js";
import type { Engine } from "../engine/engine.js";
import {
  checkStepTimeouts,
  declaredStepTimeouts,
  type InvocationResult,
  runInvocation,
  StepBudgetExceededError,
  stepBudgetFromEnv,
} from "./invocation.js";

const engines: Engine[] = [];
afterEach(() => {
  for (const e of engines.splice(0)) e.close();
});

registerStep(
  "step//./inv//slow",
  (v: number, ms: number) => new Promise((r) => setTimeout(() => r(v + 1), ms)),
);
const declaredLong = registerStep("step//./inv//declaredLong", async () => "never");
(declaredLong as unknown as { timeout: string }).timeout = "10s";

const WORKFLOWS = {
  "workflow//./inv//chain": `async function chain(n, ms) {
    let v = 0;
    for (let i = 0; i < n; i++) v = await step("step//./inv//slow")(v, ms);
    return v;
  }`,
  "workflow//./inv//napping": `async function napping() {
    const a = await step("step//./inv//slow")(0, 1);
    await rt().sleep(300);
    return await step("step//./inv//slow")(a, 1);
  }`,
  "workflow//./inv//shortThenLong": `async function shortThenLong() {
    const a = await step("step//./inv//slow")(0, 300);
    return await step("step//./inv//slow")(a, 2000);
  }`,
  "workflow//./inv//declared": `async function declared() {
    return await step("step//./inv//declaredLong")();
  }`,
};

/** A run created by an app process that does not execute runs (as on the Vercel world). */
async function created(world: World, workflowId: string, args: unknown[]): Promise<string> {
  const h = harness(WORKFLOWS, { world, executeRuns: false });
  engines.push(h.engine);
  const run = await h.start(workflowId, args);
  return run.runId;
}

/** Invokes until the run ends, as the queue would: each hand-off or wake-up is the next message. */
async function invokeUntilDone(world: World, runId: string, budgetMs: number, inlineWaitMs?: number) {
  const results: InvocationResult[] = [];
  const enqueued: { delayMs: number; wakeAt?: number }[] = [];
  for (let i = 0; i < 50; i++) {
    const pending = enqueued.length;
    const result = await runInvocation({
      runId,
      world,
      codeProvider: new TestCode(WORKFLOWS),
      budgetMs,
      ...(inlineWaitMs !== undefined ? { inlineWaitMs } : {}),
      engine: { retryBaseMs: 5, leaseTtlMs: 2_000 },
      enqueue: async (_id, delayMs, wakeAt) => {
        enqueued.push({ delayMs, ...(wakeAt !== undefined ? { wakeAt } : {}) });
      },
    });
    results.push(result);
    if (result.outcome === "ended") return { results, enqueued };
    expect(enqueued.length, `invocation ${i} (${result.outcome}) enqueued its successor`).toBe(pending + 1);
    await new Promise((r) => setTimeout(r, enqueued.at(-1)!.delayMs));
  }
  throw new Error("the run did not end within 50 invocations");
}

async function completionsPerStep(world: World, runId: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const e of await world.readEvents(runId)) {
    if (e.type === "step_completed") counts.set(e.correlationId!, (counts.get(e.correlationId!) ?? 0) + 1);
  }
  return counts;
}

describe("runInvocation", () => {
  it("runs every step inline in one invocation while the budget lasts", async () => {
    const world = createMemoryWorld();
    const runId = await created(world, "workflow//./inv//chain", [5, 5]);
    const { results } = await invokeUntilDone(world, runId, 10_000);
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ outcome: "ended", status: "completed", stepsStarted: 5 });
    expect((await world.getRun(runId))?.status).toBe("completed");
  });

  it("hands off before the budget ends and the next invocations finish the run, each step recorded once", async () => {
    const world = createMemoryWorld();
    const runId = await created(world, "workflow//./inv//chain", [6, 120]);
    const { results, enqueued } = await invokeUntilDone(world, runId, 500);
    expect(results.length).toBeGreaterThan(1);
    expect(results.slice(0, -1).every((r) => r.outcome === "handed-off")).toBe(true);
    expect(enqueued.every((e) => e.delayMs === 0)).toBe(true);
    // No invocation outlived its budget (plus scheduling slack).
    for (const r of results) expect(r.durationMs).toBeLessThan(500 + 100);
    const counts = await completionsPerStep(world, runId);
    expect(counts.size).toBe(6);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    const run = await world.getRun(runId);
    expect(run?.status).toBe("completed");
  });

  it("ends the invocation while the run sleeps and enqueues the wake-up", async () => {
    const world = createMemoryWorld();
    const runId = await created(world, "workflow//./inv//napping", []);
    const { results, enqueued } = await invokeUntilDone(world, runId, 10_000, 100);
    expect(results.map((r) => r.outcome)).toEqual(["waiting", "ended"]);
    expect(enqueued).toHaveLength(1);
    expect(enqueued[0]!.wakeAt).toBe(results[0]!.wakeAt);
    expect(enqueued[0]!.delayMs).toBeGreaterThan(150);
    expect(enqueued[0]!.delayMs).toBeLessThanOrEqual(300);
  });

  it("waits for a wake-up due within inlineWaitMs in the same invocation, from its live instance", async () => {
    const world = createMemoryWorld();
    const runId = await created(world, "workflow//./inv//napping", []);
    const { results, enqueued } = await invokeUntilDone(world, runId, 10_000, 1_000);
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ outcome: "ended", status: "completed", stepsStarted: 2 });
    expect(results[0]!.durationMs).toBeGreaterThanOrEqual(290);
    expect(enqueued).toEqual([]);
  });

  it("fails a step that does not finish within a whole invocation with STEP_EXCEEDS_MAX_DURATION", async () => {
    const world = createMemoryWorld();
    const runId = await created(world, "workflow//./inv//chain", [1, 3_000]);
    const result = await runInvocation({
      runId,
      world,
      codeProvider: new TestCode(WORKFLOWS),
      budgetMs: 400,
      enqueue: async () => {},
    });
    expect(result.outcome).toBe("ended");
    const run = await world.getRun(runId);
    expect(run?.status).toBe("failed");
    expect(run?.error).toContain("STEP_EXCEEDS_MAX_DURATION");
    expect(run?.error).toContain("step//./inv//slow");
  });

  it("hands a late step to the next invocation, where it fails if it cannot finish even there (no endless hand-offs)", async () => {
    const world = createMemoryWorld();
    const runId = await created(world, "workflow//./inv//shortThenLong", []);
    const outcomes: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await runInvocation({
        runId,
        world,
        codeProvider: new TestCode(WORKFLOWS),
        budgetMs: 600,
        enqueue: async () => {},
      });
      outcomes.push(r.outcome);
      if (r.outcome === "ended") break;
    }
    expect(outcomes).toEqual(["handed-off", "ended"]);
    const run = await world.getRun(runId);
    expect(run?.status).toBe("failed");
    expect(run?.error).toContain("STEP_EXCEEDS_MAX_DURATION");
  });

  it("refuses at run time a step whose declared timeout exceeds the budget", async () => {
    const world = createMemoryWorld();
    const runId = await created(world, "workflow//./inv//declared", []);
    await runInvocation({
      runId,
      world,
      codeProvider: new TestCode(WORKFLOWS),
      budgetMs: 2_000,
      enqueue: async () => {},
    });
    const run = await world.getRun(runId);
    expect(run?.status).toBe("failed");
    expect(run?.error).toContain("declares a timeout of 10000 ms");
  });

  it("reports busy while another executor holds the lease, and not-found for an unknown run", async () => {
    const world = createMemoryWorld();
    const runId = await created(world, "workflow//./inv//chain", [1, 1]);
    const lease = await world.acquireLease(runId, "someone-else", 60_000);
    expect(lease).toBeDefined();
    const options = {
      world,
      codeProvider: new TestCode(WORKFLOWS),
      budgetMs: 1_000,
      enqueue: async () => {},
    };
    expect((await runInvocation({ ...options, runId })).outcome).toBe("busy");
    await world.releaseLease(lease!);
    expect((await runInvocation({ ...options, runId })).outcome).toBe("ended");
    expect((await runInvocation({ ...options, runId: "wrun_01JZZZZZZZZZZZZZZZZZZZZZZZ" })).outcome).toBe(
      "not-found",
    );
  });
});

describe("checkStepTimeouts", () => {
  it("names each step whose declared timeout is longer than maxDuration", () => {
    const steps = declaredStepTimeouts(
      new Map<string, unknown>([
        ["step//a.ts//short", Object.assign(async () => {}, { timeout: "30s" })],
        ["step//a.ts//long", Object.assign(async () => {}, { timeout: "10m" })],
        ["step//a.ts//plain", async () => {}],
      ]),
    );
    expect(steps.map((s) => s.stepId)).toEqual(["step//a.ts//short", "step//a.ts//long"]);
    expect(() => checkStepTimeouts(steps, 300_000)).toThrow(StepBudgetExceededError);
    expect(() => checkStepTimeouts(steps, 300_000)).toThrow(
      /step\/\/a\.ts\/\/long \(timeout 10m = 600000 ms\)/,
    );
    expect(() => checkStepTimeouts(steps, 600_000)).not.toThrow();
  });

  it("reads WORKFLOW_STEP_BUDGET_MS and refuses nonsense", () => {
    expect(stepBudgetFromEnv({})).toBe(300_000);
    expect(stepBudgetFromEnv({ WORKFLOW_STEP_BUDGET_MS: "5000" })).toBe(5_000);
    expect(() => stepBudgetFromEnv({ WORKFLOW_STEP_BUDGET_MS: "5s" })).toThrow(/WORKFLOW_STEP_BUDGET_MS/);
  });
});
