/** Idempotent start (caller-chosen run IDs) and step timeouts, on the memory world. */

import { createMemoryWorld } from "@wfkit/world";
import { afterEach, describe, expect, it } from "vitest";
import { configureRuntime, getEngine } from "../api/runtime-config.js";
import { start } from "../api/start.js";
import { eventTypes, harness, registerStep, TestCode } from "./__tests__/harness.js";
import type { Engine } from "./engine.js";
import { hostRuntime } from "./host-runtime.js";

const engines: Engine[] = [];
afterEach(() => {
  for (const e of engines.splice(0)) e.close();
});

let executions = 0;
registerStep("step//./i//count", async (v: string) => {
  executions++;
  return v;
});
const signals: string[] = [];
registerStep(
  "step//./i//slow",
  async (ms: number) => {
    const { signal } = hostRuntime.getStepMetadata();
    signal.addEventListener("abort", () => signals.push((signal.reason as Error).name));
    await new Promise((r) => setTimeout(r, ms));
    return "late";
  },
  { maxRetries: 1, timeout: "60ms" } as never,
);

const WORKFLOWS = {
  "workflow//./i//once": `async function once(v) { return step("step//./i//count")(v); }`,
  "workflow//./i//other": `async function other(v) { return v; }`,
  "workflow//./i//timed": `async function timed(ms) {
    try { return await step("step//./i//slow")(ms); }
    catch (e) { return { name: e.name, code: e.code, timeoutMs: e.timeoutMs }; }
  }`,
};

describe("idempotent start", () => {
  it("concurrent starts with one runId make one run; onConflict: fail refuses; another workflow is refused", async () => {
    const world = createMemoryWorld();
    configureRuntime({ world, codeProvider: new TestCode(WORKFLOWS), onError: () => {} });
    engines.push(getEngine());
    const once = Object.assign(async (_v: string) => "", { workflowId: "workflow//./i//once" });
    const other = Object.assign(async (_v: string) => "", { workflowId: "workflow//./i//other" });
    executions = 0;
    const runs = await Promise.all(
      Array.from({ length: 10 }, () => start(once, ["a"], { runId: "order-42" })),
    );
    expect(new Set(runs.map((r) => r.runId))).toEqual(new Set(["order-42"]));
    expect(await runs[0]!.returnValue).toBe("a");
    expect(executions).toBe(1);
    expect((await world.listRuns()).items).toHaveLength(1);
    await expect(start(once, ["a"], { runId: "order-42", onConflict: "fail" })).rejects.toMatchObject({
      name: "RunAlreadyExistsError",
      code: "RUN_ALREADY_EXISTS",
      runId: "order-42",
    });
    await expect(start(other, ["a"], { runId: "order-42" })).rejects.toThrow(/of another workflow/);
    await expect(start(once, ["a"], { runId: "x", onConflict: "maybe" as never })).rejects.toThrow(
      /onConflict must be "use-existing" or "fail"/,
    );
  });
});

describe("step timeouts", () => {
  it("an attempt past its timeout fails with StepTimeoutError, retried per maxRetries; its signal fires; a late result is discarded", async () => {
    const h = harness(WORKFLOWS);
    engines.push(h.engine);
    signals.length = 0;
    const run = await h.start("workflow//./i//timed", [300]);
    expect(await run.returnValue).toEqual({ name: "StepTimeoutError", code: "STEP_TIMEOUT", timeoutMs: 60 });
    expect(signals).toEqual(["StepTimeoutError", "StepTimeoutError"]);
    // Let the bodies' late results arrive: nothing more is recorded.
    await new Promise((r) => setTimeout(r, 400));
    const types = await eventTypes(h.world, run.runId);
    expect(types.filter((t) => t.startsWith("step_"))).toEqual([
      "step_created:step_0001",
      "step_started:step_0001",
      "step_retrying:step_0001",
      "step_started:step_0001",
      "step_failed:step_0001",
    ]);
  });

  it("a step within its timeout is unaffected; a bad timeout fails the attempt with a clear error", async () => {
    const h = harness(WORKFLOWS);
    engines.push(h.engine);
    const run = await h.start("workflow//./i//timed", [5]);
    expect(await run.returnValue).toBe("late");
    registerStep("step//./i//bad", async () => 1, { timeout: "soon" } as never);
    const h2 = harness({
      "workflow//./i//bad": `async function bad() { try { await step("step//./i//bad")(); } catch (e) { return e.message; } }`,
    });
    engines.push(h2.engine);
    const bad = await h2.start("workflow//./i//bad");
    expect(await bad.returnValue).toMatch(/timeout/);
  });
});
