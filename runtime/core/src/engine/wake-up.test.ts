/** `run.wakeUp()` and durable wake-ups on an installed (virtual) clock. */
import { afterEach, describe, expect, it } from "vitest";
import { closingEngines, eventTypes, harness, registerStep } from "./__tests__/harness.js";
import { type Clock, type ClockTimer, setClock } from "./clock.js";

const closing = closingEngines();

registerStep("step//./w//noop", async () => "done");

const WORKFLOWS = {
  "workflow//./w//later": `async function later() {
    await step("step//./w//noop")();
    await rt().sleep("1h");
    return new Date().toISOString();
  }`,
  "workflow//./w//sequential": `async function sequential() {
    await rt().sleep("1h");
    await rt().sleep("2h");
    return "woke twice";
  }`,
  "workflow//./w//two": `async function two() {
    await Promise.all([rt().sleep("1h"), rt().sleep("2h")]);
    return new Date().toISOString();
  }`,
};

afterEach(() => setClock(undefined));

describe("run.wakeUp()", () => {
  it("completes the named sleep only, then the rest, and counts what it stopped", async () => {
    const h = closing(harness(WORKFLOWS));
    const run = await h.start<string>("workflow//./w//two");
    await until(async () => (await h.world.listWaits(run.runId)).length === 2);
    expect(await run.wakeUp({ correlationIds: ["wait_0001"] })).toEqual({ stoppedCount: 1 });
    await until(async () => (await eventTypes(h.world, run.runId)).includes("wait_completed:wait_0001"));
    expect(await run.status).toBe("running");
    expect(await eventTypes(h.world, run.runId)).not.toContain("wait_completed:wait_0002");
    expect(await run.wakeUp()).toEqual({ stoppedCount: 1 });
    await run.returnValue;
    expect(await run.wakeUp()).toEqual({ stoppedCount: 0 });
  });

  it("resolves once the sleep's end is recorded, so the next pending sleep is the next one", async () => {
    const h = closing(harness(WORKFLOWS));
    const run = await h.start<string>("workflow//./w//sequential");
    await until(async () => (await h.world.listWaits(run.runId)).length === 1);
    expect(await run.wakeUp()).toEqual({ stoppedCount: 1 });
    // No waiting here: the log already has the first sleep's end.
    expect(await eventTypes(h.world, run.runId)).toContain("wait_completed:wait_0001");
    const first = await h.world.listWaits(run.runId);
    expect(first.find((w) => w.waitId === "wait_0001")?.status).not.toBe("waiting");
    await until(async () => (await h.world.listWaits(run.runId)).length === 2);
    expect(await run.wakeUp()).toEqual({ stoppedCount: 1 });
    await expect(run.returnValue).resolves.toBe("woke twice");
  });

  it("works from a fresh engine that must replay the run first", async () => {
    const h = closing(harness(WORKFLOWS));
    const run = await h.start<string>("workflow//./w//two");
    await until(async () => (await h.world.listWaits(run.runId)).length === 2);
    h.engine.close();
    const other = closing({ engine: h.newEngine() }).engine;
    const { Run } = await import("../api/run.js");
    const again = new Run<string>(run.runId, other);
    expect(await again.wakeUp()).toEqual({ stoppedCount: 2 });
    expect(typeof (await again.returnValue)).toBe("string");
  });
});

describe("an installed clock", () => {
  it("stamps events and arms wake-ups on its time", async () => {
    let now = Date.parse("2030-01-01T00:00:00Z");
    const armed: { at: number; fire: () => void }[] = [];
    const clock: Clock = {
      now: () => now,
      at(at, fire): ClockTimer {
        const entry = { at, fire };
        armed.push(entry);
        return {
          cancel: () => void armed.splice(armed.indexOf(entry), 1),
          ref() {},
          unref() {},
          hasRef: () => false,
        };
      },
    };
    setClock(clock);
    const h = closing(harness(WORKFLOWS));
    const run = await h.start<string>("workflow//./w//later");
    await until(() => armed.some((a) => a.at === now + 3_600_000));
    now += 3_600_000;
    for (const a of armed.splice(0)) a.fire();
    expect(await run.returnValue).toBe("2030-01-01T01:00:00.000Z");
  });
});

async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}
