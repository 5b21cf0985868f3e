import type { World } from "@wfkit/world";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Run } from "../api/run.js";
import { CLOSURE_KEY } from "../sandbox/abi.js";
import { FatalError, RetryableError } from "../sandbox/errors.js";
import { WorkflowRunCancelledError, WorkflowRunFailedError } from "../sandbox/run-errors.js";
import { serialize } from "../serialization/index.js";
import { eventTypes, harness, registerStep } from "./__tests__/harness.js";
import type { Engine } from "./engine.js";
import { hostRuntime, installHostRuntime } from "./host-runtime.js";

const engines: Engine[] = [];
function track<T extends { engine: Engine }>(h: T): T {
  engines.push(h.engine);
  return h;
}
afterEach(() => {
  for (const e of engines.splice(0)) e.close();
});

const add = registerStep("step//./t//add", async (a: number, b: number) => a + b);
registerStep("step//./t//echo", async (v: unknown) => v);
registerStep("step//./t//delay", (v: unknown, ms: number) => new Promise((r) => setTimeout(() => r(v), ms)));
registerStep("step//./t//fail", async (message: string) => {
  throw new Error(message);
});

describe("sequential steps", () => {
  it("runs steps in order, one append per step, and returns the result", async () => {
    const h = track(
      harness({
        "workflow//./t//sum": `async function sum(n) {
          let total = 0;
          for (let i = 1; i <= n; i++) total = await step("step//./t//add")(total, i);
          return { total };
        }`,
      }),
    );
    const run = await h.start<{ total: number }>("workflow//./t//sum", [10]);
    await expect(run.returnValue).resolves.toEqual({ total: 55 });
    expect(await run.status).toBe("completed");
    const types = await eventTypes(h.world, run.runId);
    expect(types.slice(0, 5)).toEqual([
      "run_created",
      "run_started",
      "step_created:step_0001",
      "step_started:step_0001",
      "step_completed:step_0001",
    ]);
    expect(types.at(-1)).toBe("run_completed");
    // [run_started + first step], then [completion + next step] per step, the last with run_completed.
    expect(h.engine.stats.appends).toBe(11);
    expect(h.engine.stats.replays).toBe(0);
    expect(add).toBeTypeOf("function");
  });

  it("keeps per-step cost flat over 1,000 steps: no replay on the fast path", async () => {
    const h = track(
      harness({
        "workflow//./t//many": `async function many(n) {
          let total = 0;
          for (let i = 0; i < n; i++) total = await step("step//./t//add")(total, 1);
          return total;
        }`,
      }),
    );
    const run = await h.start<number>("workflow//./t//many", [1000]);
    await expect(run.returnValue).resolves.toBe(1000);
    expect(h.engine.stats.replays).toBe(0);
    expect(h.engine.stats.stepAttempts).toBe(1000);
    expect(h.engine.stats.appends).toBe(1001);
  });
});

describe("concurrency", () => {
  it("runs Promise.all steps concurrently and keeps their order", async () => {
    let running = 0;
    let peak = 0;
    registerStep("step//./t//slow", async (v: number) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 20));
      running--;
      return v * 2;
    });
    const h = track(
      harness(
        {
          "workflow//./t//all": `async function all() {
            return Promise.all([1, 2, 3, 4, 5].map((v) => step("step//./t//slow")(v)));
          }`,
        },
        { maxConcurrentSteps: 3 },
      ),
    );
    const run = await h.start<number[]>("workflow//./t//all");
    await expect(run.returnValue).resolves.toEqual([2, 4, 6, 8, 10]);
    expect(peak).toBe(3);
  });

  it("takes the step concurrency from WORKFLOW_MAX_CONCURRENT_STEPS, and refuses a bad value by name", async () => {
    let running = 0;
    let peak = 0;
    registerStep("step//./t//env", async (v: number) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 20));
      running--;
      return v;
    });
    vi.stubEnv("WORKFLOW_MAX_CONCURRENT_STEPS", "2");
    try {
      const h = track(
        harness({
          "workflow//./t//env": `async function env() {
            return Promise.all([1, 2, 3, 4].map((v) => step("step//./t//env")(v)));
          }`,
        }),
      );
      const run = await h.start<number[]>("workflow//./t//env");
      await expect(run.returnValue).resolves.toEqual([1, 2, 3, 4]);
      expect(peak).toBe(2);
      vi.stubEnv("WORKFLOW_MAX_CONCURRENT_STEPS", "lots");
      expect(() => harness({})).toThrow(/WORKFLOW_MAX_CONCURRENT_STEPS must be a positive integer.*"lots"/);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it("drives at most maxActiveRuns runs at once when that limit is set", async () => {
    let running = 0;
    let peak = 0;
    registerStep("step//./t//busy", async (v: number) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 10));
      running--;
      return v;
    });
    const h = track(
      harness(
        { "workflow//./t//busy": `async function busy(v) { return step("step//./t//busy")(v); }` },
        { maxActiveRuns: 2 },
      ),
    );
    const runs = await Promise.all([1, 2, 3, 4, 5].map((v) => h.start<number>("workflow//./t//busy", [v])));
    await expect(Promise.all(runs.map((r) => r.returnValue))).resolves.toEqual([1, 2, 3, 4, 5]);
    expect(peak).toBe(2);
  });

  it("settles Promise.race with the first step and Promise.any with the first success", async () => {
    const h = track(
      harness({
        "workflow//./t//race": `async function race() {
          const first = await Promise.race([step("step//./t//delay")("slow", 60), step("step//./t//delay")("fast", 5)]);
          const any = await Promise.any([step("step//./t//fail")("no"), step("step//./t//delay")("yes", 10)]);
          return [first, any];
        }`,
      }),
    );
    const run = await h.start<string[]>("workflow//./t//race");
    await expect(run.returnValue).resolves.toEqual(["fast", "yes"]);
  });

  it("lets a step start early and be awaited later", async () => {
    const h = track(
      harness({
        "workflow//./t//early": `async function early() {
          const later = step("step//./t//delay")("early", 30);
          const a = await step("step//./t//add")(1, 2);
          const b = await step("step//./t//add")(a, 3);
          return [await later, b];
        }`,
      }),
    );
    const run = await h.start<unknown[]>("workflow//./t//early");
    await expect(run.returnValue).resolves.toEqual(["early", 6]);
    const types = await eventTypes(h.world, run.runId);
    // Both the early step and the first awaited one are recorded before anything completes.
    expect(types.indexOf("step_created:step_0002")).toBeLessThan(types.indexOf("step_completed:step_0001"));
  });
});

describe("errors and retries", () => {
  it("hands a FatalError to workflow code at once, where try/catch sees its class and fields", async () => {
    let attempts = 0;
    registerStep("step//./t//fatal", async () => {
      attempts++;
      throw new FatalError("card declined", { cause: new Error("issuer said no") });
    });
    const h = track(
      harness({
        "workflow//./t//catcher": `async function catcher() {
          try {
            await step("step//./t//fatal")();
            return "no error";
          } catch (e) {
            return {
              realmError: e instanceof Error,
              name: e.name,
              message: e.message,
              brand: e[Symbol.for("wfkit.errorKind")],
              cause: e.cause && e.cause.message,
            };
          }
        }`,
      }),
    );
    const run = await h.start("workflow//./t//catcher");
    await expect(run.returnValue).resolves.toEqual({
      realmError: true,
      name: "FatalError",
      message: "card declined",
      brand: "FatalError",
      cause: "issuer said no",
    });
    expect(attempts).toBe(1);
  });

  it("retries a failing step with back-off and reports the attempt through getStepMetadata()", async () => {
    const seen: number[] = [];
    registerStep("step//./t//flaky", async () => {
      const { attempt, stepId } = hostRuntime.getStepMetadata();
      expect(stepId).toMatch(/\/step_0001$/);
      seen.push(attempt);
      if (attempt < 3) throw new Error(`attempt ${attempt} failed`);
      return "ok";
    });
    const h = track(
      harness({ "workflow//./t//flaky": `async function flaky() { return step("step//./t//flaky")(); }` }),
    );
    const run = await h.start("workflow//./t//flaky");
    await expect(run.returnValue).resolves.toBe("ok");
    expect(seen).toEqual([1, 2, 3]);
    const types = await eventTypes(h.world, run.runId);
    expect(types.filter((t) => t.startsWith("step_retrying"))).toHaveLength(2);
  });

  it("fails the step after maxRetries retries and the run with the step's error as cause", async () => {
    let attempts = 0;
    registerStep(
      "step//./t//always",
      async () => {
        attempts++;
        throw Object.assign(new TypeError("still broken"), { status: 503 });
      },
      { maxRetries: 1 },
    );
    const h = track(
      harness({ "workflow//./t//always": `async function always() { return step("step//./t//always")(); }` }),
    );
    const run = await h.start("workflow//./t//always");
    const error = await run.returnValue.catch((e) => e);
    expect(error).toBeInstanceOf(WorkflowRunFailedError);
    expect(error.runId).toBe(run.runId);
    expect(error.cause).toMatchObject({ name: "TypeError", message: "still broken", status: 503 });
    expect(error.cause.stack).toContain("still broken");
    expect(attempts).toBe(2);
  });

  it("honours RetryableError.retryAfter", async () => {
    const times: number[] = [];
    registerStep("step//./t//later", async () => {
      times.push(Date.now());
      if (times.length === 1) throw new RetryableError("busy", { retryAfter: 80 });
      return "done";
    });
    // A base back-off far above the retryAfter: only retryAfter can explain a short gap.
    const h = track(
      harness(
        { "workflow//./t//later": `async function later() { return step("step//./t//later")(); }` },
        { retryBaseMs: 10_000 },
      ),
    );
    const run = await h.start("workflow//./t//later");
    await expect(run.returnValue).resolves.toBe("done");
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(75);
    expect(times[1]! - times[0]!).toBeLessThan(5000);
  });

  it("keeps name, message, stack, cause and own properties from step to workflow to caller", async () => {
    registerStep("step//./t//rich", async () => {
      class HttpError extends Error {
        status = 404;
        override name = "HttpError";
      }
      throw new HttpError("not found", { cause: new RangeError("id out of range") });
    });
    const h = track(
      harness({
        "workflow//./t//rich": `async function rich() {
          try {
            await step("step//./t//rich")();
          } catch (e) {
            e.seenByWorkflow = true;
            throw e;
          }
        }`,
      }),
    );
    const run = await h.start("workflow//./t//rich");
    const error = await run.returnValue.catch((e) => e);
    expect(error).toBeInstanceOf(WorkflowRunFailedError);
    expect(error.message).toContain("HttpError: not found");
    expect(error.cause).toBeInstanceOf(Error);
    expect(error.cause).toMatchObject({
      name: "HttpError",
      message: "not found",
      status: 404,
      seenByWorkflow: true,
    });
    expect(error.cause.cause).toMatchObject({ name: "RangeError", message: "id out of range" });
    expect(error.cause.stack).toContain("engine.test.ts");
  });

  it("fails a workflow that waits on nothing instead of hanging", async () => {
    const h = track(
      harness({
        "workflow//./t//stuck": `async function stuck() { await new Promise(() => {}); return 1; }`,
      }),
    );
    const run = await h.start("workflow//./t//stuck");
    const error = await run.returnValue.catch((e) => e);
    expect(error.cause.code).toBe("WORKFLOW_STALLED");
  });

  it("fails a step whose implementation is not loaded, without retrying", async () => {
    const h = track(
      harness({ "workflow//./t//ghost": `async function ghost() { return step("step//./t//nope")(); }` }),
    );
    const run = await h.start("workflow//./t//ghost");
    const error = await run.returnValue.catch((e) => e);
    expect(error.cause).toMatchObject({ code: "STEP_NOT_REGISTERED", name: "StepNotRegisteredError" });
    expect(error.cause.message).toContain('Step "step//./t//nope" is not registered');
  });
});

describe("step inputs", () => {
  it("carries a nested step's closure and the run's metadata into the step body", async () => {
    installHostRuntime();
    registerStep("step//./t//outer/inner", async (suffix: string) => {
      const closure = (globalThis as unknown as Record<symbol, () => { prefix: string }>)[CLOSURE_KEY]();
      const meta = hostRuntime.getWorkflowMetadata();
      return `${closure.prefix}${suffix}@${meta.workflowRunId}`;
    });
    const h = track(
      harness({
        "workflow//./t//outer": `async function outer() {
          const prefix = "hello ";
          return step("step//./t//outer/inner", () => ({ prefix }))("world");
        }`,
      }),
    );
    const run = await h.start("workflow//./t//outer");
    await expect(run.returnValue).resolves.toBe(`hello world@${run.runId}`);
  });

  it("rejects a step call whose arguments cannot be serialized, inside workflow code", async () => {
    const h = track(
      harness({
        "workflow//./t//badarg": `async function badarg() {
          try {
            await step("step//./t//echo")({ callback() {} });
            return "no error";
          } catch (e) {
            return { isError: e instanceof Error, message: e.message };
          }
        }`,
      }),
    );
    const run = await h.start<{ isError: boolean; message: string }>("workflow//./t//badarg");
    const value = await run.returnValue;
    expect(value.isError).toBe(true);
    expect(value.message).toContain("callback");
    expect(h.engine.stats.stepAttempts).toBe(0);
  });
});

describe("durable sleep", () => {
  it("sleeps for a duration string, a number and a Date, with the sandbox clock moving accordingly", async () => {
    const h = track(
      harness({
        "workflow//./t//nap": `async function nap() {
          const t0 = Date.now();
          await rt().sleep("30ms");
          const t1 = Date.now();
          await rt().sleep(20);
          await rt().sleep(new Date(Date.now() + 20));
          const t2 = Date.now();
          return [t1 - t0, t2 - t1];
        }`,
      }),
    );
    const started = Date.now();
    const run = await h.start<number[]>("workflow//./t//nap");
    const [first, second] = await run.returnValue;
    expect(first).toBeGreaterThanOrEqual(30);
    expect(second).toBeGreaterThanOrEqual(40);
    expect(Date.now() - started).toBeGreaterThanOrEqual(70);
    const waits = await h.world.listWaits(run.runId);
    expect(waits.map((w) => w.status)).toEqual(["completed", "completed", "completed"]);
  });

  it("is resumed by a new engine after the first one crashed", async () => {
    const h = track(
      harness({
        "workflow//./t//resume": `async function resume() {
          const a = await step("step//./t//add")(1, 1);
          await rt().sleep("60ms");
          return step("step//./t//add")(a, 10);
        }`,
      }),
    );
    const run = await h.start<number>("workflow//./t//resume");
    await waitFor(async () => (await h.world.listWaits(run.runId)).length === 1);
    h.engine.close(); // the crash: timers gone, nothing cleaned up
    const second = h.newEngine();
    engines.push(second);
    expect(await second.resumePendingRuns()).toBe(1);
    await expect(new Run<number>(run.runId, second).returnValue).resolves.toBe(12);
    expect(second.stats.replays).toBe(1);
  });

  it("lets two live engines on one world share a sleeping run without running a step twice", async () => {
    let calls = 0;
    registerStep("step//./t//count", async (v: number) => {
      calls++;
      return v + 1;
    });
    const h = track(
      harness({
        "workflow//./t//shared": `async function shared() {
          let v = await step("step//./t//count")(0);
          for (let i = 0; i < 3; i++) {
            await rt().sleep("15ms");
            v = await step("step//./t//count")(v);
          }
          return v;
        }`,
      }),
    );
    const other = h.newEngine();
    engines.push(other);
    const run = await h.start<number>("workflow//./t//shared");
    // The other engine keeps trying to take the run over while the first one drives it.
    const poller = setInterval(() => void other.resumePendingRuns(), 3);
    try {
      await expect(run.returnValue).resolves.toBe(4);
    } finally {
      clearInterval(poller);
    }
    expect(calls).toBe(4);
    // The other engine did take the run over during some sleep (the test exercises the hand-over).
    expect(other.stats.replays).toBeGreaterThan(0);
    const types = await eventTypes(h.world, run.runId);
    expect(types.filter((t) => t.startsWith("step_completed"))).toHaveLength(4);
  });

  it("picks up runs created by another process when listening", async () => {
    const h = track(
      harness({
        "workflow//./t//elsewhere": `async function elsewhere(x) { return step("step//./t//add")(x, 1); }`,
      }),
    );
    const stop = h.engine.listen();
    await new Promise((r) => setTimeout(r, 0));
    // Another process (here: a bare world client) creates the run; nobody in it drives runs.
    const created = await h.world.createRun({
      workflowName: "workflow//./t//elsewhere",
      input: serialize([41]),
    });
    await expect(new Run<number>(created.run.runId, h.engine).returnValue).resolves.toBe(42);
    // Runs this engine starts itself still run once.
    const own = await h.start("workflow//./t//elsewhere", [1]);
    await expect(own.returnValue).resolves.toBe(2);
    stop();
    expect((await eventTypes(h.world, own.runId)).filter((t) => t === "run_started")).toHaveLength(1);
  });

  it("re-runs a step whose executor died mid-step, taking the run over by itself once its lease expires", async () => {
    let calls = 0;
    registerStep("step//./t//hang-once", async () => {
      calls++;
      if (calls === 1) return new Promise(() => {}); // the process "dies" inside the step
      return "second try";
    });
    const h = track(
      harness(
        { "workflow//./t//crash": `async function crash() { return step("step//./t//hang-once")(); }` },
        { leaseTtlMs: 300 },
      ),
    );
    const run = await h.start<string>("workflow//./t//crash");
    await waitFor(() => calls === 1);
    h.engine.close();
    const second = h.newEngine();
    engines.push(second);
    expect(await second.resumePendingRuns()).toBe(0); // lease still held by the dead executor
    // no second call: the engine retries by itself when the dead executor's lease expires
    await expect(new Run<string>(run.runId, second).returnValue).resolves.toBe("second try");
    const steps = await h.world.listSteps(run.runId);
    expect(steps[0]).toMatchObject({ status: "completed", attempt: 2 });
  });
});

describe("replay", () => {
  const deterministic = {
    "workflow//./t//det": `async function det() {
      const r = Math.random();
      const t = Date.now();
      const id = crypto.randomUUID();
      const recorded = await step("step//./t//echo")([r, t, id]);
      await rt().sleep("50ms");
      const after = await step("step//./t//echo")("after");
      return { same: recorded[0] === r && recorded[1] === t && recorded[2] === id, after, meta: rt().getWorkflowMetadata().workflowRunId };
    }`,
  };

  it("yields identical results when the live instance is evicted and the run continues by replay", async () => {
    const h = track(harness(deterministic));
    const run = await h.start("workflow//./t//det");
    await waitFor(async () => (await isSleeping(h, run.runId)) && h.engine.evict(run.runId));
    await expect(run.returnValue).resolves.toEqual({ same: true, after: "after", meta: run.runId });
    expect(h.engine.stats.replays).toBe(1);
  });

  it("replays concurrent steps in the order they were recorded, giving the same results", async () => {
    registerStep("step//./t//jitter", async (v: number) => {
      await new Promise((r) => setTimeout(r, Math.random() * 15));
      return v;
    });
    const h = track(
      harness({
        "workflow//./t//order": `async function order() {
          const seen = [];
          await Promise.all([1, 2, 3, 4, 5, 6].map(async (v) => {
            const r = await step("step//./t//jitter")(v);
            seen.push(r);
            if (r % 2 === 0) seen.push(await step("step//./t//jitter")(r * 10));
          }));
          const first = await Promise.race([step("step//./t//jitter")("a"), step("step//./t//jitter")("b")]);
          // Recorded live; after the replay below, seen and first are recomputed from the log.
          const snapshot = await step("step//./t//echo")({ seen: seen.slice(), first });
          await rt().sleep("50ms");
          return { replayed: { seen, first }, snapshot };
        }`,
      }),
    );
    const run = await h.start<{ replayed: { seen: unknown[] }; snapshot: unknown }>("workflow//./t//order");
    await waitFor(async () => (await isSleeping(h, run.runId)) && h.engine.evict(run.runId));
    const value = await run.returnValue;
    expect(h.engine.stats.replays).toBe(1);
    expect(value.replayed.seen).toHaveLength(9);
    expect(value.replayed).toEqual(value.snapshot);
  });

  it("completes a sleep that came due while no process was running", async () => {
    const h = track(
      harness({
        "workflow//./t//overdue": `async function overdue() {
          const t0 = Date.now();
          await rt().sleep("20ms");
          return Date.now() - t0;
        }`,
      }),
    );
    const run = await h.start<number>("workflow//./t//overdue");
    await waitFor(async () => (await h.world.listWaits(run.runId)).length === 1);
    h.engine.close();
    await new Promise((r) => setTimeout(r, 40));
    expect((await h.world.listDue(Date.now())).map((d) => d.runId)).toEqual([run.runId]);
    const second = h.newEngine();
    engines.push(second);
    expect(await second.resumePendingRuns()).toBe(1);
    expect(await new Run<number>(run.runId, second).returnValue).toBeGreaterThanOrEqual(40);
  });

  it("does not repeat the workflow's console output when it replays", async () => {
    const logged: unknown[] = [];
    const spy = vi.spyOn(console, "log").mockImplementation((...args) => void logged.push(args.join(" ")));
    try {
      const h = track(
        harness({
          "workflow//./t//chatty": `async function chatty() {
            console.log("before sleep");
            await rt().sleep("50ms");
            console.log("after sleep");
          }`,
        }),
      );
      const run = await h.start("workflow//./t//chatty");
      await waitFor(async () => (await isSleeping(h, run.runId)) && h.engine.evict(run.runId));
      await run.returnValue;
      expect(h.engine.stats.replays).toBe(1);
      expect(logged).toEqual(["before sleep", "after sleep"]);
    } finally {
      spy.mockRestore();
    }
  });

  it("continues from the cached instance without replay when it is at the log head", async () => {
    const h = track(harness(deterministic));
    const run = await h.start("workflow//./t//det");
    await expect(run.returnValue).resolves.toMatchObject({ same: true });
    expect(h.engine.stats.replays).toBe(0);
    expect(h.engine.stats.cacheHits).toBeGreaterThanOrEqual(1);
  });

  it("fails with REPLAY_DIVERGENCE naming both operations when the code changed", async () => {
    const h = track(
      harness({
        "workflow//./t//change": `async function change() {
          await step("step//./t//add")(1, 2);
          await rt().sleep("40ms");
          return "v1";
        }`,
      }),
    );
    const run = await h.start("workflow//./t//change");
    await waitFor(async () => (await h.world.listWaits(run.runId)).length === 1);
    h.engine.close();
    h.code.set({
      "workflow//./t//change": `async function change() {
        await step("step//./t//echo")("new first step");
        await rt().sleep("40ms");
        return "v2";
      }`,
    });
    const second = h.newEngine();
    engines.push(second);
    await second.resumePendingRuns();
    const error = await new Run(run.runId, second).returnValue.catch((e) => e);
    expect(error).toBeInstanceOf(WorkflowRunFailedError);
    expect(error.cause.code).toBe("REPLAY_DIVERGENCE");
    expect(error.cause.message).toContain('step "step//./t//echo" (step_0001)');
    expect(error.cause.message).toContain('step "step//./t//add" (step_0001) at seq 3');
  });

  it("detects a recorded operation the new code never asks for", async () => {
    const h = track(
      harness({
        "workflow//./t//shrink": `async function shrink() {
          await rt().sleep("40ms");
          return "v1";
        }`,
      }),
    );
    const run = await h.start("workflow//./t//shrink");
    await waitFor(async () => (await h.world.listWaits(run.runId)).length === 1);
    h.engine.close();
    h.code.set({ "workflow//./t//shrink": `async function shrink() { return "v2"; }` });
    const second = h.newEngine();
    engines.push(second);
    await second.resumePendingRuns();
    const error = await new Run(run.runId, second).returnValue.catch((e) => e);
    expect(error.cause.code).toBe("REPLAY_DIVERGENCE");
    expect(error.cause.message).toMatch(/sleep \(wait_0001\) at seq 3.*already returned/);
  });
});

describe("run handle", () => {
  it("reports returnValue after the run has already ended, and the run's times", async () => {
    const h = track(harness({ "workflow//./t//quick": `async function quick(x) { return x * 2; }` }));
    const run = await h.start<number>("workflow//./t//quick", [21]);
    await run.returnValue;
    await expect(run.returnValue).resolves.toBe(42);
    expect(await run.workflowName).toBe("workflow//./t//quick");
    expect((await run.completedAt)!.getTime()).toBeGreaterThanOrEqual((await run.createdAt).getTime());
  });

  it("cancels a sleeping run", async () => {
    const h = track(
      harness({ "workflow//./t//long": `async function long() { await rt().sleep("1h"); return "woke"; }` }),
    );
    const run = await h.start("workflow//./t//long");
    await waitFor(async () => (await h.world.listWaits(run.runId)).length === 1);
    await run.cancel({ reason: "no longer needed" });
    const error = await run.returnValue.catch((e) => e);
    expect(error).toBeInstanceOf(WorkflowRunCancelledError);
    expect(error.message).toContain("no longer needed");
    expect(await run.status).toBe("cancelled");
  });

  it("starts no further step after cancel", async () => {
    let second = false;
    registerStep("step//./t//second", async () => {
      second = true;
    });
    const h = track(
      harness({
        "workflow//./t//twostep": `async function twostep() {
          await step("step//./t//delay")(1, 40);
          await step("step//./t//second")();
        }`,
      }),
    );
    const run = await h.start("workflow//./t//twostep");
    await waitFor(async () => (await h.world.listSteps(run.runId)).length === 1);
    await run.cancel();
    await expect(run.returnValue).rejects.toBeInstanceOf(WorkflowRunCancelledError);
    await new Promise((r) => setTimeout(r, 60));
    expect(second).toBe(false);
  });

  it("fires a running step's AbortSignal with the cancel reason and starts nothing after it", async () => {
    let seen: unknown;
    let after = false;
    registerStep("step//./t//abortable", async () => {
      const { signal } = hostRuntime.getStepMetadata();
      await new Promise<void>((resolve) => {
        signal.addEventListener("abort", () => {
          seen = signal.reason;
          resolve();
        });
      });
      return "finished anyway";
    });
    registerStep("step//./t//after", async () => {
      after = true;
    });
    const h = track(
      harness({
        "workflow//./t//abortable": `async function abortable() {
          const r = await step("step//./t//abortable")();
          await step("step//./t//after")();
          return r;
        }`,
      }),
    );
    const run = await h.start("workflow//./t//abortable");
    await waitFor(async () => (await h.world.listSteps(run.runId)).some((s) => s.status === "running"));
    await run.cancel({ reason: "user pressed stop" });
    await waitFor(() => seen !== undefined);
    expect(seen).toBeInstanceOf(WorkflowRunCancelledError);
    expect((seen as WorkflowRunCancelledError).reason).toBe("user pressed stop");
    const error = await run.returnValue.catch((e) => e);
    expect(error).toBeInstanceOf(WorkflowRunCancelledError);
    expect(error.reason).toBe("user pressed stop");
    await new Promise((r) => setTimeout(r, 30));
    expect(after).toBe(false);
    const types = await eventTypes(h.world, run.runId);
    expect(types.at(-1)).toBe("run_cancelled");
    expect(types).not.toContain("step_completed:step_0001");
  });

  it("aborts a step running here when another engine cancels the run", async () => {
    let aborted = false;
    registerStep("step//./t//waitabort", async () => {
      const { signal } = hostRuntime.getStepMetadata();
      await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve()));
      aborted = true;
    });
    const h = track(
      harness({ "workflow//./t//waitabort": `async function w() { await step("step//./t//waitabort")(); }` }),
    );
    const run = await h.start("workflow//./t//waitabort");
    await waitFor(async () => (await h.world.listSteps(run.runId)).some((s) => s.status === "running"));
    const other = h.newEngine();
    engines.push(other);
    await new Run(run.runId, other).cancel({ reason: "from elsewhere" });
    await waitFor(() => aborted);
    await expect(run.returnValue).rejects.toThrow(/from elsewhere/);
  });

  it("gives workflow code its metadata and refuses step metadata there", async () => {
    const h = track(
      harness({
        "workflow//./t//meta": `async function meta() {
          const m = rt().getWorkflowMetadata();
          let stepMeta;
          try { rt().getStepMetadata(); } catch (e) { stepMeta = e.message; }
          return { id: m.workflowRunId, date: m.workflowStartedAt instanceof Date, url: m.url, stepMeta };
        }`,
      }),
    );
    const run = await h.start("workflow//./t//meta");
    const value = await run.returnValue;
    expect(value).toMatchObject({ id: run.runId, date: true, url: expect.stringMatching(/^http/) });
    expect((value as { stepMeta: string }).stepMeta).toContain('inside a "use step" function');
  });
});

/** The run waits on a sleep that has not completed yet. */
async function isSleeping(h: { world: World }, runId: string): Promise<boolean> {
  return (await h.world.listWaits(runId)).some((w) => w.status === "waiting");
}

async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}
