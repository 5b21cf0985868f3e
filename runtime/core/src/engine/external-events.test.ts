/**
 * Events from outside a run (hook payloads) recorded by engines other than the run's executor: they take no
 * lease, never disturb the executor, and always reach the run (notification, or the sweep). The same guarantees
 * across real processes are in test/e2e/external-events*.test.ts.
 */
import { createMemoryWorld, type RunNotification, type World } from "@wfkit/world";
import { afterEach, describe, expect, it } from "vitest";
import { resumeHook } from "../api/hooks.js";
import { Run } from "../api/run.js";
import { deserialize, serialize } from "../serialization/index.js";
import { eventTypes, harness, registerStep } from "./__tests__/harness.js";
import type { Engine } from "./engine.js";

const engines: Engine[] = [];
afterEach(() => {
  for (const e of engines.splice(0)) e.close();
});

let slowRuns = 0;
registerStep("step//./x//slow", async (ms: number) => {
  slowRuns++;
  await new Promise((r) => setTimeout(r, ms));
  return "slow done";
});
registerStep("step//./x//tick", async (v: unknown) => v);

async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function tokenOf(world: World, runId: string): Promise<string> {
  let token: string | undefined;
  await waitFor(async () => {
    token = (await world.listHooks(runId))[0]?.token;
    return token !== undefined;
  });
  return token!;
}

const WORKFLOWS = {
  // A hook payload arrives while a long step runs (the step is started first, then the hook is awaited).
  "workflow//./x//stepAndHook": `async function stepAndHook(ms) {
    const hook = rt().createHook();
    const slow = step("step//./x//slow")(ms);
    const payloads = [];
    for await (const p of hook) {
      payloads.push(p);
      if (p === "last") break;
    }
    return { slow: await slow, payloads };
  }`,
  "workflow//./x//waitOne": `async function waitOne(token) {
    const hook = rt().createHook({ token });
    const payload = await hook;
    return step("step//./x//tick")(payload);
  }`,
};

describe("external events", () => {
  it("payloads recorded by another engine while a step runs never make the step run again", async () => {
    const h = harness(WORKFLOWS);
    engines.push(h.engine);
    const outside = h.newEngine({ executeRuns: false });
    engines.push(outside);
    slowRuns = 0;
    const run = await h.start<{ slow: string; payloads: string[] }>("workflow//./x//stepAndHook", [400]);
    const token = await tokenOf(h.world, run.runId);
    for (const p of ["a", "b", "c", "d"]) {
      await resumeHook(token, p, outside);
      await new Promise((r) => setTimeout(r, 40));
    }
    await resumeHook(token, "last", outside);
    expect(await run.returnValue).toEqual({ slow: "slow done", payloads: ["a", "b", "c", "d", "last"] });
    expect(slowRuns).toBe(1);
    expect(h.engine.stats.replays).toBe(0);
    const received = (await h.world.readEvents(run.runId)).filter((e) => e.type === "hook_received");
    expect(received).toHaveLength(5);
    expect(new Set(received.map((e) => e.data!.deliveryId)).size).toBe(5);
  });

  it("a process that does not execute runs records a payload and takes nothing; an executor consumes it later", async () => {
    const world = createMemoryWorld();
    const first = harness(WORKFLOWS, { world });
    engines.push(first.engine);
    const run = await first.start<string>("workflow//./x//waitOne", ["tok-later"]);
    await tokenOf(world, run.runId);
    await waitFor(async () => (await world.getRun(run.runId))!.status === "running");
    // The executor goes away (its lease was released when the run began to wait).
    first.engine.close();

    for (const outside of [
      first.newEngine({ executeRuns: false }),
      first.newEngine({ codeProvider: undefined }),
    ]) {
      engines.push(outside);
      expect(outside.executes).toBe(false);
    }
    await resumeHook("tok-later", "payload", engines[1]!);
    // Recorded, not appended: no lease taken, no failure recorded, the log unchanged.
    expect(await eventTypes(world, run.runId)).toEqual([
      "run_created",
      "run_started",
      "hook_created:hook_0001",
    ]);
    expect((await world.listDeliveries(run.runId)).map((d) => deserialize(d.event.data.payload))).toEqual([
      "payload",
    ]);
    const probe = await world.acquireLease(run.runId, "probe", 1_000);
    expect(probe).toBeDefined();
    await world.releaseLease(probe!);

    // A process that executes runs comes up: it resumes the run and consumes the delivery.
    const executor = first.newEngine();
    engines.push(executor);
    await executor.resumePendingRuns();
    expect(await new Run<string>(run.runId, executor).returnValue).toBe("payload");
    expect(await world.listDeliveries(run.runId)).toEqual([]);
  });

  it("an executor that holds the run idle hears a delivery from another engine and continues without replay", async () => {
    const h = harness(WORKFLOWS);
    engines.push(h.engine);
    const outside = h.newEngine({ executeRuns: false });
    engines.push(outside);
    const runs: Run<string>[] = [];
    for (let i = 0; i < 50; i++) runs.push(await h.start<string>("workflow//./x//waitOne", [`tok-${i}`]));
    for (const run of runs) await tokenOf(h.world, run.runId);
    await Promise.all(runs.map((_, i) => resumeHook(`tok-${i}`, i, outside)));
    outside.close();
    expect(await Promise.all(runs.map((r) => r.returnValue))).toEqual(runs.map((_, i) => i));
    expect(h.engine.stats.replays).toBe(0);
  });

  it("the sweep consumes a delivery whose notification was lost", async () => {
    const world = dropDeliveredNotifications(createMemoryWorld());
    const h = harness(WORKFLOWS, { world, sweepIntervalMs: 100 });
    engines.push(h.engine);
    const run = await h.start<string>("workflow//./x//waitOne", ["tok-swept"]);
    await tokenOf(world, run.runId);
    await waitFor(async () => (await world.getRun(run.runId))!.status === "running");
    await world.deliver(run.runId, {
      deliveryId: "lost-notification",
      event: { type: "hook_received", correlationId: "hook_0001", data: { payload: serialize("x") } },
    });
    expect(await run.returnValue).toBe("x");
  });

  it("another engine's sweep takes over a run whose executor died holding its lease", async () => {
    const world = createMemoryWorld();
    const dying = harness(WORKFLOWS, { world, leaseTtlMs: 200, sweepIntervalMs: false });
    engines.push(dying.engine);
    const survivor = dying.newEngine({ sweepIntervalMs: 100 });
    engines.push(survivor);
    await survivor.world();
    slowRuns = 0;
    const run = await dying.start("workflow//./x//stepAndHook", [300]);
    await waitFor(() => slowRuns === 1);
    // The executor dies with the step in flight: nothing releases its lease, no wake-up or delivery is pending.
    dying.engine.close();
    // Once the lease expires the survivor's sweep finds the run abandoned, takes it over and reruns the step.
    await waitFor(() => slowRuns === 2);
    const token = await tokenOf(world, run.runId);
    await resumeHook(token, "last", survivor);
    expect(await new Run(run.runId, survivor).returnValue).toEqual({ slow: "slow done", payloads: ["last"] });
  });

  it("a delivery retried with the same ID is delivered once", async () => {
    const h = harness(WORKFLOWS);
    engines.push(h.engine);
    const outside = h.newEngine({ executeRuns: false });
    engines.push(outside);
    const run = await h.start<string>("workflow//./x//stepAndHook", [10]);
    const token = await tokenOf(h.world, run.runId);
    await outside.resumeHook(token, "once", undefined, "dlv_fixed");
    await outside.resumeHook(token, "once", undefined, "dlv_fixed");
    await outside.resumeHook(token, "last", undefined, "dlv_other");
    const result = (await run.returnValue) as { payloads: string[] };
    expect(result.payloads).toEqual(["once", "last"]);
  });
});

/** A world whose subscribers never hear `delivered` (a lost notification). */
function dropDeliveredNotifications(world: World): World {
  return new Proxy(world, {
    get(target, key, receiver) {
      if (key === "subscribe") {
        return (listener: (n: RunNotification) => void, runId?: string) =>
          target.subscribe((n) => {
            if (n.kind !== "delivered") listener(n);
          }, runId);
      }
      const value = Reflect.get(target, key, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

describe("hook tokens", () => {
  it("createHook() with a token no world can store fails in workflow code, where it can be caught", async () => {
    const h = harness({
      "workflow//./x//badToken": `async function badToken() {
        const out = [];
        for (const token of ["a\\u0000b", "x".repeat(1025), ""]) {
          try { rt().createHook({ token }); out.push("created"); } catch (e) { out.push(e instanceof TypeError ? e.message : "other"); }
        }
        return out;
      }`,
    });
    engines.push(h.engine);
    const run = await h.start<string[]>("workflow//./x//badToken");
    expect(await run.returnValue).toEqual([
      "createHook(): the token cannot be used: it contains a NUL character (\\u0000).",
      "createHook(): the token cannot be used: it is 1025 characters long; at most 1024 are allowed.",
      "createHook(): the token cannot be used: it must be a non-empty string.",
    ]);
  });
});
