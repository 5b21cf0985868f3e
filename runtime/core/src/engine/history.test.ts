/**
 * Operator operations on a run's history (retry, fork, rewind), driven through the engine on the memory world:
 * what re-executes, what is reused, and that replays of the changed history agree.
 */
import { createMemoryWorld } from "@wfkit/world";
import { afterEach, describe, expect, it } from "vitest";
import { resumeHook } from "../api/hooks.js";
import { Run } from "../api/run.js";
import { eventTypes, harness, registerStep } from "./__tests__/harness.js";
import type { Engine } from "./engine.js";

const engines: Engine[] = [];
afterEach(() => {
  for (const e of engines.splice(0)) e.close();
});

const calls: string[] = [];
let broken = true;
registerStep("step//./r//ok", async (v: string) => {
  calls.push(`ok:${v}`);
  return `ok(${v})`;
});
registerStep(
  "step//./r//flaky",
  async (v: string) => {
    calls.push(`flaky:${v}`);
    if (broken) throw new Error("service down");
    return `flaky(${v})`;
  },
  { maxRetries: 1 },
);

const WORKFLOWS = {
  "workflow//./r//chain": `async function chain(x) {
    const a = await step("step//./r//ok")(x + "1");
    const b = await step("step//./r//flaky")(a);
    const c = await step("step//./r//ok")(b);
    return c;
  }`,
  "workflow//./r//hooked": `async function hooked(token) {
    const hook = rt().createHook({ token });
    const [payload, v] = await Promise.all([hook, step("step//./r//flaky")("h")]);
    return payload + ":" + v;
  }`,
  "workflow//./r//caught": `async function caught() {
    let fallback;
    try { await step("step//./r//flaky")("first"); } catch { fallback = await step("step//./r//ok")("fallback"); }
    return step("step//./r//flaky")(fallback);
  }`,
};

async function failed(run: Run): Promise<void> {
  await run.returnValue.catch(() => {});
  expect(await run.status).toBe("failed");
}

describe("run.retry()", () => {
  it("re-drives a failed run from its failed step with a fresh retry budget; completed steps keep their result", async () => {
    const h = harness(WORKFLOWS);
    engines.push(h.engine);
    calls.length = 0;
    broken = true;
    const run = await h.start<string>("workflow//./r//chain", ["x"]);
    await failed(run);
    expect(calls).toEqual(["ok:x1", "flaky:ok(x1)", "flaky:ok(x1)"]);
    broken = false;
    calls.length = 0;
    await run.retry({ reason: "service is back" });
    expect(await run.returnValue).toBe("ok(flaky(ok(x1)))");
    expect(calls).toEqual(["flaky:ok(x1)", "ok:flaky(ok(x1))"]);
    const types = await eventTypes(h.world, run.runId);
    expect(types).toContain("run_retried");
    expect(types.filter((t) => t === "run_started")).toHaveLength(2);
    // A fresh process replays the retried history to the same result, without executing anything.
    const fresh = h.newEngine();
    engines.push(fresh);
    calls.length = 0;
    expect(await new Run(run.runId, fresh).returnValue).toBe("ok(flaky(ok(x1)))");
    expect(calls).toEqual([]);
  });

  it("gives the re-driven step its whole retry budget again", async () => {
    const h = harness(WORKFLOWS);
    engines.push(h.engine);
    broken = true;
    const run = await h.start<string>("workflow//./r//chain", ["y"]);
    await failed(run);
    calls.length = 0;
    await run.retry();
    await failed(run);
    // maxRetries 1: two attempts after the retry, as before it.
    expect(calls).toEqual(["flaky:ok(y1)", "flaky:ok(y1)"]);
    broken = false;
    await run.retry();
    expect(await run.returnValue).toBe("ok(flaky(ok(y1)))");
  });

  it("keeps a failure the code caught and went on from; retries only the one it did not survive", async () => {
    const h = harness(WORKFLOWS);
    engines.push(h.engine);
    broken = true;
    calls.length = 0;
    const run = await h.start<string>("workflow//./r//caught");
    await failed(run);
    broken = false;
    calls.length = 0;
    await run.retry();
    expect(await run.returnValue).toBe("flaky(ok(fallback))");
    expect(calls).toEqual(["flaky:ok(fallback)"]);
  });

  it("brings back the hooks the failure disposed", async () => {
    const h = harness(WORKFLOWS);
    engines.push(h.engine);
    broken = true;
    const token = `retry-hook-${Math.random()}`;
    const run = await h.start<string>("workflow//./r//hooked", [token]);
    await failed(run);
    await expect(resumeHook(token, "late", h.engine)).rejects.toMatchObject({ name: "HookNotFoundError" });
    broken = false;
    await run.retry();
    await resumeHook(token, "payload", h.engine);
    expect(await run.returnValue).toBe("payload:flaky(h)");
  });

  it("is refused for a run that did not fail, and two engines retrying at once retry once", async () => {
    const h = harness(WORKFLOWS);
    engines.push(h.engine);
    broken = false;
    const ok = await h.start<string>("workflow//./r//chain", ["z"]);
    await ok.returnValue;
    await expect(ok.retry()).rejects.toMatchObject({ code: "RUN_NOT_RETRYABLE" });
    broken = true;
    const run = await h.start<string>("workflow//./r//chain", ["w"]);
    await failed(run);
    broken = false;
    const other = h.newEngine();
    engines.push(other);
    const results = await Promise.allSettled([h.engine.retryRun(run.runId), other.retryRun(run.runId)]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect(await run.returnValue).toBe("ok(flaky(ok(w1)))");
    expect((await eventTypes(h.world, run.runId)).filter((t) => t === "run_retried")).toHaveLength(1);
  });
});

describe("run.fork() and run.rewind()", () => {
  it("fork from a step reuses the results before it and executes from there, in a new run", async () => {
    const h = harness(WORKFLOWS);
    engines.push(h.engine);
    broken = false;
    const run = await h.start<string>("workflow//./r//chain", ["f"]);
    expect(await run.returnValue).toBe("ok(flaky(ok(f1)))");
    calls.length = 0;
    const forked = await run.fork({ fromStep: "step_0002" });
    expect(forked.runId).not.toBe(run.runId);
    expect(await forked.returnValue).toBe("ok(flaky(ok(f1)))");
    expect(calls).toEqual(["flaky:ok(f1)", "ok:flaky(ok(f1))"]);
    const created = (await h.world.readEvents(forked.runId))[0]!;
    expect(created.data).toMatchObject({
      metadata: { forkedFrom: { runId: run.runId, fromStep: "step_0002" } },
    });
    // By step ID: its first call.
    calls.length = 0;
    const byName = await run.fork({ fromStep: "step//./r//flaky" });
    expect(await byName.returnValue).toBe("ok(flaky(ok(f1)))");
    expect(calls).toEqual(["flaky:ok(f1)", "ok:flaky(ok(f1))"]);
    await expect(run.fork({ fromStep: "step_9999" })).rejects.toThrow(/has no step "step_9999"/);
  });

  it("fork without a step continues where a failed run stopped; the original stays failed", async () => {
    const h = harness(WORKFLOWS);
    engines.push(h.engine);
    broken = true;
    const run = await h.start<string>("workflow//./r//chain", ["g"]);
    await failed(run);
    broken = false;
    calls.length = 0;
    const forked = await run.fork();
    expect(await forked.returnValue).toBe("ok(flaky(ok(g1)))");
    expect(calls).toEqual(["flaky:ok(g1)", "ok:flaky(ok(g1))"]);
    expect(await run.status).toBe("failed");
  });

  it("a fork is copied by whichever process executes it first, when the forking one does not", async () => {
    const world = createMemoryWorld();
    const h = harness(WORKFLOWS, { world });
    engines.push(h.engine);
    broken = false;
    const run = await h.start<string>("workflow//./r//chain", ["k"]);
    await run.returnValue;
    const operator = h.newEngine({ executeRuns: false });
    engines.push(operator);
    const forkedId = await operator.forkRun(run.runId, { fromStep: "step_0003" });
    expect(await eventTypes(world, forkedId)).toEqual(["run_created"]);
    calls.length = 0;
    await h.engine.drive(forkedId);
    expect(await new Run(forkedId, h.engine).returnValue).toBe("ok(flaky(ok(k1)))");
    expect(calls).toEqual(["ok:flaky(ok(k1))"]);
  });

  it("rewind cancels the original with the new run's ID and re-runs from the step, taking over its hook token", async () => {
    const h = harness(WORKFLOWS);
    engines.push(h.engine);
    broken = false;
    const token = `rewind-${Math.random()}`;
    const run = await h.start<string>("workflow//./r//hooked", [token]);
    await expect.poll(async () => (await h.world.getHookByToken(token))?.runId).toBe(run.runId);
    await expect.poll(async () => (await h.world.getStep(run.runId, "step_0002"))?.status).toBe("completed");
    calls.length = 0;
    const rewound = await run.rewind({ toStep: "step_0002" });
    expect(await run.status).toBe("cancelled");
    await expect(run.returnValue).rejects.toMatchObject({ name: "WorkflowRunCancelledError" });
    const cancelled = await h.world.getRun(run.runId);
    expect(cancelled!.cancelReason).toBe(`rewound to ${rewound.runId}`);
    await expect.poll(async () => (await h.world.getHookByToken(token))?.runId).toBe(rewound.runId);
    await resumeHook(token, "again", h.engine);
    expect(await rewound.returnValue).toBe("again:flaky(h)");
    expect(calls).toEqual(["flaky:h"]);
  });
});
