/**
 * Fan-out of a run's steps to other engines through the world's step tasks, on one memory world with step tasks
 * (what Postgres workers do across processes): the executor offers the 2nd…Nth step of a batch, another engine
 * claims and runs them, and only the executor appends to the log.
 */
import { createMemoryWorld, stepTasksOf, type World } from "@wfkit/world";
import { afterEach, describe, expect, it } from "vitest";
import { Run } from "../api/run.js";
import { FatalError } from "../sandbox/errors.js";
import { WorkflowRunCancelledError } from "../sandbox/run-errors.js";
import { serialize } from "../serialization/index.js";
import { eventTypes, harness, registerStep } from "./__tests__/harness.js";
import type { Engine } from "./engine.js";
import { hostRuntime } from "./host-runtime.js";

const engines: Engine[] = [];
const stops: (() => void)[] = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
  for (const e of engines.splice(0)) e.close();
});

/** An executor engine with one step slot (so it never claims while its inline step runs) and a worker engine. */
function pair(workflows: Record<string, string>, executor: { leaseTtlMs?: number } = {}) {
  const world = createMemoryWorld({ stepTasks: true });
  const h = harness(workflows, { world, maxConcurrentSteps: 1, ...executor });
  const worker = h.newEngine({ maxConcurrentSteps: 32 });
  engines.push(h.engine, worker);
  stops.push(worker.listen());
  return { ...h, worker };
}

async function completions(world: World, runId: string): Promise<string[]> {
  return (await world.readEvents(runId))
    .filter((e) => e.type === "step_completed")
    .map((e) => e.correlationId!);
}

interface Seen {
  stepId: string;
  attempt: number;
  runId: string;
  startedAt: number;
}

describe("step fan-out across engines", () => {
  it("offers the 2nd…Nth step of a Promise.all; the worker runs them with the executor's step context", async () => {
    const seen: Seen[] = [];
    registerStep("step//./f//part", async (v: number) => {
      const m = hostRuntime.getStepMetadata();
      const w = hostRuntime.getWorkflowMetadata();
      seen.push({
        stepId: m.stepId,
        attempt: m.attempt,
        runId: w.workflowRunId,
        startedAt: w.workflowStartedAt.getTime(),
      });
      await new Promise((r) => setTimeout(r, 20));
      return v * 10;
    });
    registerStep("step//./f//sum", async (xs: number[]) => xs.reduce((a, b) => a + b, 0));
    const h = pair({
      "workflow//./f//fan": `async function fan() {
        const parts = await Promise.all([1, 2, 3, 4, 5, 6].map((v) => step("step//./f//part")(v)));
        return [parts, await step("step//./f//sum")(parts)];
      }`,
    });
    const run = await h.start<[number[], number]>("workflow//./f//fan");
    await expect(run.returnValue).resolves.toEqual([[10, 20, 30, 40, 50, 60], 210]);

    expect(h.engine.stats.stepsOffered).toBe(5);
    expect(h.worker.stats.stepTasksRun).toBe(5);
    expect(h.engine.stats.stepTasksRun).toBe(0);
    // The sequential step after the batch ran inline.
    expect(h.engine.stats.stepAttempts).toBe(2);
    const completed = await completions(h.world, run.runId);
    expect(completed).toHaveLength(7);
    expect(new Set(completed).size).toBe(7);
    const record = (await h.world.getRun(run.runId))!;
    expect(seen.map((s) => s.stepId).sort()).toEqual(
      [1, 2, 3, 4, 5, 6].map((i) => `${run.runId}/step_000${i}`),
    );
    for (const s of seen)
      expect(s).toMatchObject({ attempt: 1, runId: run.runId, startedAt: record.createdAt });
    // Only the executor wrote the log; recorded tasks were removed.
    await waitFor(async () => (await stepTasksOf(h.world)!.listStepTasks(run.runId)).length === 0);
  });

  it("keeps a sequential run inline: nothing is offered", async () => {
    registerStep("step//./f//inc", async (v: number) => v + 1);
    const h = pair({
      "workflow//./f//seq": `async function seq() {
        let v = 0;
        for (let i = 0; i < 5; i++) v = await step("step//./f//inc")(v);
        return v;
      }`,
    });
    const run = await h.start<number>("workflow//./f//seq");
    await expect(run.returnValue).resolves.toBe(5);
    expect(h.engine.stats.stepsOffered).toBe(0);
    expect(h.worker.stats.stepTasksRun).toBe(0);
    expect(h.engine.stats.appends).toBe(6);
  });

  it("records retries and errors decided by the worker: a retry with its attempt number, a FatalError's class", async () => {
    const attempts: number[] = [];
    registerStep("step//./f//hold", async () => {
      await new Promise((r) => setTimeout(r, 30));
      return "held";
    });
    registerStep("step//./f//flaky", async () => {
      const { attempt } = hostRuntime.getStepMetadata();
      attempts.push(attempt);
      if (attempt === 1) throw new Error("first attempt fails");
      return `attempt ${attempt}`;
    });
    registerStep("step//./f//fatal", async () => {
      throw new FatalError("never again");
    });
    const h = pair({
      "workflow//./f//mixed": `async function mixed() {
        return Promise.all([
          step("step//./f//hold")(),
          step("step//./f//flaky")(),
          step("step//./f//fatal")().catch((e) => e.name + ": " + e.message),
        ]);
      }`,
    });
    const run = await h.start("workflow//./f//mixed");
    await expect(run.returnValue).resolves.toEqual(["held", "attempt 2", "FatalError: never again"]);
    expect(attempts).toEqual([1, 2]);
    const types = await eventTypes(h.world, run.runId);
    expect(types.filter((t) => t === "step_retrying:step_0002")).toHaveLength(1);
    expect(types.filter((t) => t === "step_failed:step_0003")).toHaveLength(1);
    const retry = (await h.world.readEvents(run.runId)).find((e) => e.type === "step_retrying")!;
    expect(retry.data).toMatchObject({ attempt: 1, error: expect.stringContaining("first attempt fails") });
  });

  it("a new executor uses the outcome of a task that completed after the old executor died, without rerunning it", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let remoteRuns = 0;
    let inlineRuns = 0;
    registerStep("step//./f//inline", async () => {
      inlineRuns++;
      await new Promise((r) => setTimeout(r, 10));
      return "inline";
    });
    registerStep("step//./f//gated", async () => {
      remoteRuns++;
      await gate;
      return "remote";
    });
    const h = pair(
      {
        "workflow//./f//takeover": `async function takeover() {
          return Promise.all([step("step//./f//inline")(), step("step//./f//gated")()]);
        }`,
      },
      { leaseTtlMs: 200 },
    );
    const run = await h.start<string[]>("workflow//./f//takeover");
    const tasks = stepTasksOf(h.world)!;
    await waitFor(async () => (await tasks.listStepTasks(run.runId)).some((t) => t.status === "claimed"));
    // The executor "crashes": it stops and never records anything again; its lease expires.
    h.engine.close();
    release();
    await waitFor(async () => (await tasks.listStepTasks(run.runId)).some((t) => t.status === "completed"));
    const next = h.newEngine({ maxConcurrentSteps: 1, leaseTtlMs: 200 });
    engines.push(next);
    // Whichever engine takes the run over once the old lease expired (this one, or the worker's retry timer).
    await waitFor(async () => {
      if ((await h.world.getRun(run.runId))!.status === "completed") return true;
      await next.drive(run.runId);
      return false;
    });
    await expect(new Run<string[]>(run.runId, next).returnValue).resolves.toEqual(["inline", "remote"]);
    expect(remoteRuns).toBe(1);
    // The interrupted inline step ran again (at-least-once), the completed task did not.
    expect(inlineRuns).toBe(2);
    const events = await h.world.readEvents(run.runId);
    const gatedStarts = events.filter((e) => e.type === "step_started" && e.correlationId === "step_0002");
    expect(gatedStarts.map((e) => e.data)).toEqual([{ attempt: 1 }]);
    expect(await completions(h.world, run.runId)).toHaveLength(2);
  });

  it("a new executor adopts a task still running on a worker: no second execution, no new attempt", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let gatedRuns = 0;
    registerStep("step//./f//quick", async () => "quick");
    registerStep("step//./f//gated2", async () => {
      gatedRuns++;
      await gate;
      return "slow";
    });
    const h = pair(
      {
        "workflow//./f//adopt": `async function adopt() {
          return Promise.all([step("step//./f//quick")(), step("step//./f//gated2")()]);
        }`,
      },
      { leaseTtlMs: 200 },
    );
    const run = await h.start<string[]>("workflow//./f//adopt");
    const tasks = stepTasksOf(h.world)!;
    await waitFor(async () => (await tasks.listStepTasks(run.runId)).some((t) => t.status === "claimed"));
    await waitFor(async () => (await eventTypes(h.world, run.runId)).includes("step_completed:step_0001"));
    h.engine.close();
    const next = h.newEngine({ maxConcurrentSteps: 1, leaseTtlMs: 200 });
    engines.push(next);
    // Some engine takes the run over (this one, or the worker's retry timer): it replays the log and, finding the
    // task still claimed, waits for it instead of starting attempt 2.
    await waitFor(async () => {
      await next.drive(run.runId);
      return next.stats.replays + h.worker.stats.replays > 0;
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(gatedRuns).toBe(1);
    release();
    await expect(new Run<string[]>(run.runId, next).returnValue).resolves.toEqual(["quick", "slow"]);
    expect(gatedRuns).toBe(1);
    const starts = (await h.world.readEvents(run.runId)).filter(
      (e) => e.type === "step_started" && e.correlationId === "step_0002",
    );
    expect(starts.map((e) => e.data)).toEqual([{ attempt: 1 }]);
  });

  it("fires the AbortSignal of a step running on the worker when the run is cancelled", async () => {
    let seen: unknown;
    registerStep("step//./f//long", async () => {
      const { signal } = hostRuntime.getStepMetadata();
      await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve()));
      seen = signal.reason;
    });
    const h = pair({
      "workflow//./f//cancelled": `async function cancelled() {
        await Promise.all([step("step//./f//long")(), step("step//./f//long")()]);
      }`,
    });
    const run = await h.start("workflow//./f//cancelled");
    await waitFor(() => h.worker.stats.stepAttempts === 1);
    await run.cancel({ reason: "stop it" });
    await waitFor(() => seen !== undefined);
    expect(seen).toBeInstanceOf(WorkflowRunCancelledError);
    expect((seen as WorkflowRunCancelledError).reason).toBe("stop it");
    await waitFor(async () => (await stepTasksOf(h.world)!.listStepTasks(run.runId)).length === 0);
  });

  it("alone on the world, an engine runs the steps it offered itself once other workers had their head start", async () => {
    registerStep("step//./f//triple", async (v: number) => v * 3);
    const world = createMemoryWorld({ stepTasks: true });
    const h = harness(
      {
        "workflow//./f//alone": `async function alone() {
          return Promise.all([1, 2, 3].map((v) => step("step//./f//triple")(v)));
        }`,
      },
      { world },
    );
    engines.push(h.engine);
    const run = await h.start<number[]>("workflow//./f//alone");
    await expect(run.returnValue).resolves.toEqual([3, 6, 9]);
    expect(h.engine.stats.stepsOffered).toBe(2);
    expect(h.engine.stats.stepTasksRun).toBe(2);
    expect(await completions(world, run.runId)).toHaveLength(3);
    // Nobody else took them: the next runs keep their steps inline (until the evidence is 10 s old).
    const again = await h.start<number[]>("workflow//./f//alone");
    await expect(again.returnValue).resolves.toEqual([3, 6, 9]);
    expect(h.engine.stats.stepsOffered).toBe(2);
    expect(h.engine.stats.stepAttempts).toBe(6);
  });

  it("leaves a world without step tasks (the plain memory world) on inline steps", async () => {
    registerStep("step//./f//plain", async (v: number) => v + 100);
    const h = harness({
      "workflow//./f//plain": `async function plain() {
        return Promise.all([1, 2].map((v) => step("step//./f//plain")(v)));
      }`,
    });
    engines.push(h.engine);
    expect(stepTasksOf(h.world)).toBeUndefined();
    await expect((await h.start<number[]>("workflow//./f//plain")).returnValue).resolves.toEqual([101, 102]);
    expect(h.engine.stats.stepsOffered).toBe(0);
  });

  it("a claimer whose claim was taken away sees its signal fire and cannot complete; the new attempt is run", async () => {
    const reasons: unknown[] = [];
    registerStep("step//./f//claimlost", async () => {
      const { attempt, signal } = hostRuntime.getStepMetadata();
      if (attempt === 2) return "second";
      await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve()));
      reasons.push(signal.reason);
      return "first";
    });
    const world = createMemoryWorld({ stepTasks: true });
    const tasks = stepTasksOf(world)!;
    const h = harness({}, { world, leaseTtlMs: 150 });
    engines.push(h.engine);
    stops.push(h.engine.listen());
    const { run } = await world.createRun({ workflowName: "workflow//./f//none", input: "[]" });
    const task = (attempt: number) => ({
      runId: run.runId,
      correlationId: "step_0001",
      attempt,
      stepName: "step//./f//claimlost",
      input: serialize({ args: [] }),
      runStartedAt: run.createdAt,
    });
    await tasks.offerStepTasks([task(1)]);
    await waitFor(() => h.engine.stats.stepAttempts === 1);
    // The executor replaced the task with a newer attempt (as after a retry decision): the old claim is void.
    await tasks.offerStepTasks([task(2)]);
    await waitFor(() => reasons.length === 1);
    expect(reasons[0]).toMatchObject({ name: "AbortError", code: "STEP_CLAIM_LOST" });
    await waitFor(async () => (await tasks.listStepTasks(run.runId))[0]?.status === "completed");
    expect((await tasks.listStepTasks(run.runId))[0]).toMatchObject({
      attempt: 2,
      outcome: { type: "step_completed" },
    });
    expect(h.engine.stats.stepTasksRun).toBe(2);
  });

  it("runs every step inline with stepFanOut: false", async () => {
    registerStep("step//./f//twice", async (v: number) => v * 2);
    const h = pair({
      "workflow//./f//off": `async function off() {
        return Promise.all([1, 2, 3].map((v) => step("step//./f//twice")(v)));
      }`,
    });
    const solo = h.newEngine({ stepFanOut: false });
    engines.push(solo);
    const run = new Run<number[]>(await solo.start("workflow//./f//off", []), solo);
    await expect(run.returnValue).resolves.toEqual([2, 4, 6]);
    expect(solo.stats.stepsOffered).toBe(0);
    expect(solo.stats.stepAttempts).toBe(3);
  });
});

async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("getStepMetadata().stepStartedAt on a worker", () => {
  it("is the first attempt's start even when the world's step tasks do not carry it", async () => {
    const starts: number[] = [];
    registerStep("step//./f//hold2", async () => {
      await new Promise((r) => setTimeout(r, 30));
      return "held";
    });
    registerStep("step//./f//flaky2", async () => {
      const { attempt, stepStartedAt } = hostRuntime.getStepMetadata();
      starts.push(stepStartedAt.getTime());
      if (attempt < 3) throw new Error(`attempt ${attempt}`);
      return attempt;
    });
    const world = createMemoryWorld({ stepTasks: true });
    // A world that stores only the task fields it knows (as the SQL worlds do).
    const offer = world.offerStepTasks!.bind(world);
    world.offerStepTasks = (tasks) =>
      offer(tasks.map(({ firstStartedAt: _f, workflowName: _w, ...task }) => task));
    const h = harness(
      {
        "workflow//./f//firstStart": `async function firstStart() {
          return Promise.all([step("step//./f//hold2")(), step("step//./f//flaky2")()]);
        }`,
      },
      { world, maxConcurrentSteps: 1 },
    );
    const worker = h.newEngine({ maxConcurrentSteps: 32 });
    engines.push(h.engine, worker);
    stops.push(worker.listen());
    const run = await h.start("workflow//./f//firstStart");
    await expect(run.returnValue).resolves.toEqual(["held", 3]);
    expect(starts).toHaveLength(3);
    // Retries read the first start from the log; the first attempt, started on a worker, reports its own start,
    // which comes after the executor recorded it.
    expect(starts[2]).toBe(starts[1]);
    expect(starts[1]).toBeLessThanOrEqual(starts[0]!);
    expect(starts[0]! - starts[1]!).toBeLessThan(1000);
    expect(worker.stats.stepTasksRun).toBeGreaterThan(0);
  });
});
