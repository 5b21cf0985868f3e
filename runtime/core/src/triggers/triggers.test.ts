/** Schedules and events on the memory world: the engine side (scheduler, emit fan-out, triggers, waitForEvent). */
import { createMemoryWorld, type ScheduleRecord, schedulesOf } from "@wfkit/world";
import { afterEach, describe, expect, it } from "vitest";
import {
  emit,
  getSchedule,
  pauseSchedule,
  resumeSchedule,
  schedule,
  trigger,
  untrigger,
} from "../api/schedules.js";
import { harness, registerStep } from "../engine/__tests__/harness.js";
import type { Engine } from "../engine/engine.js";
import { eventWaitPrefix, eventWaitToken } from "./event-tokens.js";
import { triggerStore } from "./events.js";
import { compileCron, planTick, tickRunId, triggeredRunId } from "./ticks.js";

const engines: Engine[] = [];
afterEach(() => {
  for (const e of engines.splice(0)) e.close();
});

registerStep("step//./ev//echo", async (v: unknown) => v);

const WORKFLOWS = {
  "workflow//./ev//waiter": `async function waiter(key) {
    const e = await rt().waitForEvent("order.paid", key === undefined ? {} : { key });
    return { id: e.id, data: e.data, key: e.key, name: e.name };
  }`,
  "workflow//./ev//impatient": `async function impatient() {
    try { await rt().waitForEvent("never", { timeout: "200ms" }); return "got one"; }
    catch (e) { return { name: e.name, code: e.code, message: e.message }; }
  }`,
  "workflow//./ev//raced": `async function raced() {
    const e = await rt().waitForEvent("fast", { timeout: "1h" });
    return e.data;
  }`,
  "workflow//./ev//emitter": `async function emitter() {
    const r = await rt().emit("order.paid", { from: "workflow" });
    return r.delivered.length;
  }`,
  "workflow//./ev//onEvent": `async function onEvent(event) { return step("step//./ev//echo")(event.data); }`,
  "workflow//./ev//tick": `async function tick(label) { return label; }`,
  "workflow//./ev//slowTick": `async function slowTick() { await rt().sleep(1500); return "done"; }`,
};

async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

function record(over: Partial<ScheduleRecord>): ScheduleRecord {
  return {
    name: "s",
    workflowName: "workflow//./ev//tick",
    cron: "0 * * * *",
    args: "[]",
    overlap: "skip",
    catchUp: "latest",
    paused: false,
    lastTick: Date.parse("2026-01-01T00:00:00Z"),
    createdAt: 0,
    updatedAt: 0,
    ...over,
  };
}

describe("cron ticks", () => {
  it("plans nothing before the next tick and the latest due tick after it", () => {
    const r = record({});
    expect(planTick(r, Date.parse("2026-01-01T00:59:59Z"))).toBeUndefined();
    expect(planTick(r, Date.parse("2026-01-01T01:00:01Z"))).toEqual({
      tick: Date.parse("2026-01-01T01:00:00Z"),
      fire: true,
    });
  });

  it("after downtime: catchUp latest fires the latest missed tick once, none skips it", () => {
    const now = Date.parse("2026-01-01T05:30:00Z");
    expect(planTick(record({ catchUp: "latest" }), now)).toEqual({
      tick: Date.parse("2026-01-01T05:00:00Z"),
      fire: true,
    });
    expect(planTick(record({ catchUp: "none" }), now)).toEqual({
      tick: Date.parse("2026-01-01T05:00:00Z"),
      fire: false,
    });
  });

  it("reads the expression in the schedule's time zone", () => {
    const r = record({ cron: "0 9 * * *", timezone: "America/New_York" });
    const plan = planTick(r, Date.parse("2026-01-01T14:00:05Z"));
    expect(plan?.tick).toBe(Date.parse("2026-01-01T14:00:00Z")); // 9:00 EST
  });

  it("refuses a bad expression or time zone with what is wrong", () => {
    expect(() => compileCron("every day")).toThrow(/cron expression "every day" cannot be used/);
    expect(() => compileCron("* * * * *", "Mars/Olympus")).toThrow(/time zone "Mars\/Olympus"/);
  });

  it("derives one run ID per schedule and tick", () => {
    expect(tickRunId("a", 1000)).toBe(tickRunId("a", 1000));
    expect(tickRunId("a", 1000)).not.toBe(tickRunId("a", 2000));
    expect(tickRunId("a", 1000)).not.toBe(tickRunId("b", 1000));
    expect(tickRunId("a", 1000)).toMatch(/^wrun_[0-9A-Z]{26}$/);
    expect(triggeredRunId("e1", "w")).not.toBe(triggeredRunId("e2", "w"));
  });

  it("event tokens: a keyed emit reaches keyless and same-key waits only", () => {
    const keyless = eventWaitToken("a", undefined, "r", 1);
    const keyed = eventWaitToken("a", "k", "r", 2);
    const otherKey = eventWaitToken("a", "k2", "r", 3);
    const otherName = eventWaitToken("a:*", undefined, "r", 4);
    expect(keyless.startsWith(eventWaitPrefix("a", undefined))).toBe(true);
    expect(keyed.startsWith(eventWaitPrefix("a", "k"))).toBe(true);
    expect(otherKey.startsWith(eventWaitPrefix("a", "k"))).toBe(false);
    expect(otherName.startsWith(eventWaitPrefix("a", undefined))).toBe(false);
  });
});

describe("events on the memory world", () => {
  it("one emit reaches every waiting run once; keys select; a repeated event ID delivers nothing again", async () => {
    const h = harness(WORKFLOWS);
    engines.push(h.engine);
    const world = schedulesOf(h.world)!;
    const keyless = await Promise.all([1, 2, 3].map(() => h.start("workflow//./ev//waiter", [])));
    const keyed = await h.start("workflow//./ev//waiter", ["o-1"]);
    const otherKey = await h.start("workflow//./ev//waiter", ["o-2"]);
    await until(async () => (await world.listHooksByTokenPrefix("wfevent:")).length === 5);

    const result = await emit("order.paid", { amount: 5 }, { key: "o-1", id: "evt-1", world: h.world });
    expect(result.delivered.sort()).toEqual([...keyless.map((r) => r.runId), keyed.runId].sort());
    // The same event ID again (a retried emit): recorded once per run, whether or not the waits have ended yet.
    await emit("order.paid", { amount: 6 }, { key: "o-1", id: "evt-1", world: h.world });
    for (const run of [...keyless, keyed]) {
      expect(await run.returnValue).toMatchObject({ id: "evt-1", data: { amount: 5 }, name: "order.paid" });
    }
    expect(await otherKey.status).toBe("running");
    for (const run of keyless) {
      const received = (await h.world.readEvents(run.runId)).filter((e) => e.type === "hook_received");
      expect(received).toHaveLength(1);
    }
  });

  it("waitForEvent with a timeout rejects with EventTimeoutError; an event before it wins", async () => {
    const h = harness(WORKFLOWS);
    engines.push(h.engine);
    const slow = await h.start("workflow//./ev//impatient");
    expect(await slow.returnValue).toEqual({
      name: "EventTimeoutError",
      code: "EVENT_TIMEOUT",
      message: 'No event "never" arrived within 200 ms (waitForEvent timeout).',
    });
    const fast = await h.start("workflow//./ev//raced");
    await until(
      async () => (await schedulesOf(h.world)!.listHooksByTokenPrefix("wfevent:fast")).length === 1,
    );
    await emit("fast", "in time", { world: h.world });
    expect(await fast.returnValue).toBe("in time");
  });

  it("a wait replayed in a fresh instance (another process, a restart) receives the event; so does a timed one", async () => {
    const h = harness(WORKFLOWS);
    engines.push(h.engine);
    const plain = await h.start("workflow//./ev//waiter", []);
    const timed = await h.start("workflow//./ev//raced");
    const store = schedulesOf(h.world)!;
    await until(async () => (await store.listHooksByTokenPrefix("wfevent:")).length === 2);
    // Drop the live instances: the delivery is consumed by replaying each log into a new sandbox.
    await until(() => h.engine.evict(plain.runId) && h.engine.evict(timed.runId));
    await emit("order.paid", 1, { world: h.world });
    await emit("fast", 2, { world: h.world });
    expect(await plain.returnValue).toMatchObject({ data: 1 });
    expect(await timed.returnValue).toBe(2);
    expect(h.engine.stats.replays).toBeGreaterThanOrEqual(2);
  });

  it("trigger() starts the workflow once per event ID; emit() from workflow code delivers", async () => {
    const h = harness(WORKFLOWS);
    engines.push(h.engine);
    h.engine.listen(); // a worker: runs that another engine (the API's, on this world) creates are executed here
    await trigger("workflow//./ev//onEvent", { event: "signup", world: h.world });
    await trigger("workflow//./ev//onEvent", { event: "signup", world: h.world }); // idempotent
    const first = await emit("signup", { user: "ada" }, { id: "s-1", world: h.world });
    const repeat = await emit("signup", { user: "ada" }, { id: "s-1", world: h.world });
    expect(first.started).toHaveLength(1);
    expect(repeat.started).toEqual(first.started);
    const runs = await h.world.listRuns({ workflowName: "workflow//./ev//onEvent" });
    expect(runs.items).toHaveLength(1);
    expect(await h.engine.world().then((w) => w.getRun(first.started[0]!))).toBeDefined();
    await until(async () => (await h.world.getRun(first.started[0]!))?.status === "completed");
    expect(await untrigger("workflow//./ev//onEvent", { event: "signup", world: h.world })).toBe(true);
    expect((await emit("signup", {}, { world: h.world })).started).toEqual([]);

    const waiter = await h.start("workflow//./ev//waiter", []);
    await until(async () => (await schedulesOf(h.world)!.listHooksByTokenPrefix("wfevent:")).length === 1);
    const emitter = await h.start("workflow//./ev//emitter");
    expect(await emitter.returnValue).toBe(1);
    expect(await waiter.returnValue).toMatchObject({ data: { from: "workflow" } });
    expect(((await waiter.returnValue) as { id: string }).id).toBe(`wevt_${emitter.runId}_1`);
  });

  it("a world without schedules and events refuses them, naming the world and the ones that have them", () => {
    expect(() => triggerStore({ name: "custom" })).toThrow(
      /The custom world does not support schedules and events .* The local, postgres, sqlite, redis, vercel and memory worlds have them/,
    );
  });

  it("a trigger of a workflow this process lacks still starts it (for a process that has the code)", async () => {
    const h = harness(WORKFLOWS);
    engines.push(h.engine);
    await trigger("workflow//./other-service//welcome", { event: "hello", engine: h.engine });
    const { started } = await emit("hello", {}, { engine: h.engine });
    expect(started).toHaveLength(1);
    expect(await h.world.getRun(started[0]!)).toMatchObject({
      workflowName: "workflow//./other-service//welcome",
    });
  });

  it("refuses bad names with what is wrong", async () => {
    const world = createMemoryWorld();
    await expect(emit("", 1, { world })).rejects.toThrow(/event name must be a string of 1-200/);
    await expect(schedule("s", "workflow//./ev//tick", { cron: "nope", world } as never)).rejects.toThrow(
      /cannot be used/,
    );
    await expect(
      schedule("s", "workflow//./ev//tick", { cron: "* * * * *", overlap: "queue", world } as never),
    ).rejects.toThrow(/overlap must be "skip" or "allow"/);
  });
});

describe("schedules on the memory world", () => {
  it('overlap "skip" starts no tick while the previous run is unfinished; "allow" does', async () => {
    const h = harness(WORKFLOWS);
    engines.push(h.engine);
    h.engine.schedules();
    const runsOf = async (name: string) =>
      (await h.world.listRuns({ workflowName: "workflow//./ev//slowTick", limit: 100 })).items
        .filter((r) => (r.metadata!.schedule as { name: string }).name === name)
        .sort((a, b) => a.createdAt - b.createdAt);
    await schedule("skips", "workflow//./ev//slowTick", { cron: "* * * * * *", world: h.world });
    await schedule("allows", "workflow//./ev//slowTick", {
      cron: "* * * * * *",
      overlap: "allow",
      world: h.world,
    });
    await until(
      async () => (await runsOf("skips")).filter((r) => r.status === "completed").length >= 2,
      10_000,
    );
    await pauseSchedule("skips", { world: h.world });
    await pauseSchedule("allows", { world: h.world });
    const skips = await runsOf("skips");
    for (let i = 1; i < skips.length; i++) {
      const previous = await h.world.getRun(skips[i - 1]!.runId);
      expect(skips[i]!.createdAt).toBeGreaterThanOrEqual(previous!.completedAt!);
    }
    const allows = await runsOf("allows");
    expect(allows.length).toBeGreaterThan(skips.length);
    const overlapping = allows.some(
      (r, i) => i > 0 && r.createdAt < (allows[i - 1]!.completedAt ?? Infinity),
    );
    expect(overlapping).toBe(true);
  }, 20_000);

  it("two engines on one world start exactly one run per tick; pause stops ticks", async () => {
    const h = harness(WORKFLOWS);
    const second = h.newEngine();
    engines.push(h.engine, second);
    const info = await schedule("every-second", "workflow//./ev//tick", {
      cron: "* * * * * *",
      args: ["hi"],
      world: h.world,
    });
    expect(info).toMatchObject({ paused: false, overlap: "skip", catchUp: "latest", args: ["hi"] });
    h.engine.schedules();
    second.schedules(); // a second scheduler handling the same ticks
    await until(
      async () => (await h.world.listRuns({ workflowName: "workflow//./ev//tick" })).items.length >= 3,
    );
    const runs = (await h.world.listRuns({ workflowName: "workflow//./ev//tick", limit: 100 })).items;
    const ticks = runs.map((r) => (r.metadata!.schedule as { tick: number }).tick);
    expect(new Set(ticks).size).toBe(ticks.length);
    for (const run of runs) {
      expect(run.runId).toBe(tickRunId("every-second", (run.metadata!.schedule as { tick: number }).tick));
    }

    await pauseSchedule("every-second", { world: h.world });
    const paused = (await h.world.listRuns({ workflowName: "workflow//./ev//tick", limit: 100 })).items
      .length;
    await new Promise((r) => setTimeout(r, 2_200));
    expect((await h.world.listRuns({ workflowName: "workflow//./ev//tick", limit: 100 })).items.length).toBe(
      paused,
    );
    const resumed = await resumeSchedule("every-second", { world: h.world });
    expect(resumed.paused).toBe(false);
    await until(
      async () =>
        (await h.world.listRuns({ workflowName: "workflow//./ev//tick", limit: 100 })).items.length > paused,
    );
    // An upsert keeps the pause and the ticks handled.
    await pauseSchedule("every-second", { world: h.world });
    const before = await getSchedule("every-second", { world: h.world });
    const after = await schedule("every-second", "workflow//./ev//tick", {
      cron: "*/2 * * * * *",
      world: h.world,
    });
    expect(after).toMatchObject({ paused: true, cron: "*/2 * * * * *", lastTick: before!.lastTick });
  }, 20_000);
});
