/** Flow control in the engine: concurrency keys, throttles, debounces and priority, on the memory world. */
import { createMemoryWorld, flowGatesOf, type World } from "@wfkit/world";
import { describe, expect, it } from "vitest";
import { flowSpecFor } from "../api/flow-options.js";
import { Run } from "../api/run.js";
import { closingEngines, harness, registerStep } from "./__tests__/harness.js";
import { FlowControlUnsupportedError } from "./flow-control.js";

const track = closingEngines();

let running = 0;
let maxRunning = 0;
const started: { name: string; at: number }[] = [];
registerStep("step//./f//work", async (name: string, ms: number) => {
  running++;
  maxRunning = Math.max(maxRunning, running);
  started.push({ name, at: Date.now() });
  await new Promise((r) => setTimeout(r, ms));
  running--;
  return name;
});
function reset() {
  running = 0;
  maxRunning = 0;
  started.length = 0;
}

const WORKFLOWS = {
  "workflow//./f//job": `async function job(name, ms) {
    return step("step//./f//work")(name, ms);
  }`,
  "workflow//./f//branch": `async function branch(name) {
    if (name.endsWith("5")) return step("step//./f//work")(name, 1);
    await rt().sleep(1);
    return "slept";
  }`,
  "workflow//./f//napper": `async function napper(name) {
    await step("step//./f//work")(name + ":before", 5);
    await rt().sleep(300);
    return step("step//./f//work")(name + ":after", 5);
  }`,
};

/** A workflow function as the client shape gives it to `start()`, with flow-control properties. */
function wf(id: string, props: Record<string, unknown>) {
  return Object.assign(async () => {}, { workflowId: id }, props);
}

async function startWith(
  h: ReturnType<typeof harness>,
  fn: ReturnType<typeof wf>,
  args: unknown[],
  priority?: number,
) {
  const flow = flowSpecFor(fn, fn.workflowId, args, priority);
  const runId = await h.engine.start(fn.workflowId, args, flow ? { flow } : {});
  return new Run<string>(runId, h.engine);
}

describe("flow control", () => {
  it("concurrency: no more runs execute steps at once than the limit, and every run completes", async () => {
    reset();
    const h = track(harness(WORKFLOWS));
    const job = wf("workflow//./f//job", { concurrency: { limit: 2 } });
    const runs = await Promise.all(Array.from({ length: 8 }, (_, i) => startWith(h, job, [`r${i}`, 40])));
    const values = await Promise.all(runs.map((r) => r.returnValue));
    expect(values.sort()).toEqual(["r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7"]);
    expect(maxRunning).toBe(2);
  });

  it("concurrency key: each key has its own limit", async () => {
    reset();
    const h = track(harness(WORKFLOWS));
    const job = wf("workflow//./f//job", {
      concurrency: { limit: 1, key: (name: string) => name.slice(0, 1) },
    });
    const runs = await Promise.all(["a1", "a2", "b1", "b2"].map((name) => startWith(h, job, [name, 80])));
    await Promise.all(runs.map((r) => r.returnValue));
    // One run of key a and one of key b at a time: two at once overall, never two of one key.
    expect(maxRunning).toBe(2);
    const a = started.filter((s) => s.name.startsWith("a")).map((s) => s.at);
    expect(Math.abs(a[1]! - a[0]!)).toBeGreaterThanOrEqual(70);
  });

  it("concurrency: a sleeping run holds no slot", async () => {
    reset();
    const h = track(harness(WORKFLOWS));
    const napper = wf("workflow//./f//napper", { concurrency: { limit: 1 } });
    const a = await startWith(h, napper, ["A"]);
    const b = await startWith(h, napper, ["B"]);
    await Promise.all([a.returnValue, b.returnValue]);
    const order = started.map((s) => s.name);
    // B ran its first step while A slept (with the slot held through the sleep, B would start after A ended).
    expect(order.indexOf("B:before")).toBeLessThan(order.indexOf("A:after"));
  });

  it("throttle: starts over the rate wait their turn and none is lost", async () => {
    reset();
    const h = track(harness(WORKFLOWS));
    const job = wf("workflow//./f//job", { throttle: { limit: 2, period: "400ms" } });
    const t0 = Date.now();
    const runs = await Promise.all(Array.from({ length: 6 }, (_, i) => startWith(h, job, [`t${i}`, 1])));
    const values = await Promise.all(runs.map((r) => r.returnValue));
    expect(values.sort()).toEqual(["t0", "t1", "t2", "t3", "t4", "t5"]);
    const times = started.map((s) => s.at).sort((x, y) => x - y);
    // Never 3 starts within one period (a body starts a moment after its admission: 100 ms allowed for a busy
    // machine); 6 starts at 2 per 400 ms take at least two more periods.
    for (let i = 2; i < times.length; i++) expect(times[i]! - times[i - 2]!).toBeGreaterThanOrEqual(300);
    expect(times.at(-1)! - t0).toBeGreaterThanOrEqual(800);
  });

  it("debounce: a burst collapses into one run with the last arguments, and every caller gets it", async () => {
    reset();
    const h = track(harness(WORKFLOWS));
    const job = wf("workflow//./f//job", {
      debounce: { period: "150ms", key: (name: string) => name.slice(0, 1) },
    });
    const runs: Run<string>[] = [];
    for (let i = 1; i <= 5; i++) {
      runs.push(await startWith(h, job, [`x${i}`, 1]));
      await new Promise((r) => setTimeout(r, 20));
    }
    const other = await startWith(h, job, ["y1", 1]);
    expect(new Set(runs.map((r) => r.runId)).size).toBe(1);
    expect(other.runId).not.toBe(runs[0]!.runId);
    expect(await runs[0]!.returnValue).toBe("x5");
    expect(await other.returnValue).toBe("y1");
    expect(started.map((s) => s.name).sort()).toEqual(["x5", "y1"]);
    // The run row shows the arguments it ran with.
    const record = await h.world.getRun(runs[0]!.runId);
    expect(record!.input).toContain("x5");
    // After the run started, a new start makes a new run.
    const later = await startWith(h, job, ["x6", 1]);
    expect(later.runId).not.toBe(runs[0]!.runId);
    expect(await later.returnValue).toBe("x6");
  });

  it("debounce: replays (a fresh instance, replayLog) use the arguments the run started with", async () => {
    reset();
    const h = track(harness(WORKFLOWS));
    const branch = wf("workflow//./f//branch", { debounce: { period: "100ms" } });
    const runs: Run<string>[] = [];
    for (let i = 1; i <= 5; i++) runs.push(await startWith(h, branch, [`b${i}`]));
    expect(await runs[0]!.returnValue).toBe("b5");
    const runId = runs[0]!.runId;
    const report = await h.engine.replayLog({
      runId,
      workflowName: "workflow//./f//branch",
      events: await h.world.readEvents(runId),
    });
    expect(report.ok).toBe(true);
    // Another engine replays the whole log into a fresh sandbox (after a crash it would do the same).
    const other = h.newEngine();
    track({ engine: other });
    expect(
      await other.replayLog({
        runId,
        workflowName: "workflow//./f//branch",
        events: await h.world.readEvents(runId),
      }),
    ).toMatchObject({ ok: true });
  });

  it("debounce: a start after the pending run was cancelled makes a new run", async () => {
    reset();
    const h = track(harness(WORKFLOWS));
    const job = wf("workflow//./f//job", { debounce: { period: "200ms" } });
    const first = await startWith(h, job, ["c1", 1]);
    await first.cancel();
    const second = await startWith(h, job, ["c2", 1]);
    expect(second.runId).not.toBe(first.runId);
    expect(await second.returnValue).toBe("c2");
    expect(started.map((s) => s.name)).toEqual(["c2"]);
  });

  it("priority: when runs wait for a slot, higher priority goes first", async () => {
    reset();
    const h = track(harness(WORKFLOWS));
    const job = wf("workflow//./f//job", { concurrency: { limit: 1 } });
    const blocker = await startWith(h, job, ["blocker", 150]);
    await new Promise((r) => setTimeout(r, 30));
    const low = await startWith(h, job, ["low", 5], 0);
    const high = await startWith(h, job, ["high", 5], 10);
    const mid = await startWith(h, job, ["mid", 5], 5);
    expect(await h.engine.waitingFor((await h.world.getRun(low.runId))!)).toBe("concurrency");
    await Promise.all([blocker, low, high, mid].map((r) => r.returnValue));
    expect(started.map((s) => s.name)).toEqual(["blocker", "high", "mid", "low"]);
  });

  it("gates are deleted once spent: released slots, starts out of their period, debounces that started", async () => {
    reset();
    const h = track(harness(WORKFLOWS));
    const gates = flowGatesOf(h.world)!;
    const limited = wf("workflow//./f//job", { concurrency: { limit: 1, key: () => "k" } });
    const throttled = wf("workflow//./f//job", { throttle: { limit: 1, period: "100ms", key: () => "k" } });
    const debounced = wf("workflow//./f//job", { debounce: { period: "10ms", key: () => "k" } });
    const runs = [
      await startWith(h, limited, ["g1", 1]),
      await startWith(h, throttled, ["g2", 1]),
      await startWith(h, debounced, ["g3", 1]),
    ];
    await Promise.all(runs.map((r) => r.returnValue));
    expect(await gates.listFlowGates()).toEqual([
      "debounce:workflow//./f//job:k",
      "throttle:workflow//./f//job:k",
    ]);
    await new Promise((r) => setTimeout(r, 150));
    await h.engine.sweep();
    await h.engine.sweep();
    expect(await gates.listFlowGates()).toEqual([]);
  });

  it("a world without flow gates refuses with FLOW_CONTROL_UNSUPPORTED", async () => {
    const memory = createMemoryWorld();
    const hidden = new Set(["readFlowGate", "updateFlowGate", "listFlowGates"]);
    const bare = new Proxy(memory, {
      get: (target, prop, receiver) =>
        hidden.has(prop as string) ? undefined : Reflect.get(target, prop, receiver),
    }) as World;
    const h = track(harness(WORKFLOWS, { world: bare }));
    const job = wf("workflow//./f//job", { concurrency: { limit: 1 } });
    const error = await startWith(h, job, ["x", 1]).catch((e) => e);
    expect(error).toBeInstanceOf(FlowControlUnsupportedError);
    expect(error.code).toBe("FLOW_CONTROL_UNSUPPORTED");
    expect(error.message).toContain("errors/flow-control-unsupported");
  });

  it("bad settings are refused at start with what is wrong", () => {
    const id = "workflow//./f//job";
    expect(() => flowSpecFor(wf(id, { concurrency: { limit: 0 } }), id, [], undefined)).toThrow(
      /concurrency\.limit must be a whole number ≥ 1/,
    );
    expect(() => flowSpecFor(wf(id, { throttle: { limit: 1, period: "soon" } }), id, [], undefined)).toThrow(
      /throttle\.period/,
    );
    expect(() =>
      flowSpecFor(wf(id, { debounce: { period: "1s", key: () => ({}) } }), id, [], undefined),
    ).toThrow(/debounce\.key\(\.\.\.args\) must return a string/);
    expect(() => flowSpecFor(wf(id, {}), id, [], "high")).toThrow(/priority must be a finite number/);
    expect(
      flowSpecFor(wf(id, { concurrency: { limit: 3, key: (t: string) => t } }), id, ["acme"], 2),
    ).toEqual({
      priority: 2,
      concurrency: { limit: 3, gate: `concurrency:${id}:acme` },
    });
  });
});
