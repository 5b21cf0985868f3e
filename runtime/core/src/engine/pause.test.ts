/** Pausing and resuming runs (`run.pause()`, `run.resume()`) from the run's own engine and from others. */
import { createMemoryWorld } from "@wfkit/world";
import { afterEach, describe, expect, it } from "vitest";
import { Run } from "../api/run.js";
import { eventTypes, harness, registerStep } from "./__tests__/harness.js";
import type { Engine } from "./engine.js";

const engines: Engine[] = [];
afterEach(() => {
  for (const e of engines.splice(0)) e.close();
});

const log: string[] = [];
registerStep("step//./p//work", async (name: string, ms: number) => {
  log.push(`start ${name}`);
  await new Promise((r) => setTimeout(r, ms));
  log.push(`end ${name}`);
  return name;
});

const WORKFLOWS = {
  "workflow//./p//three": `async function three(ms) {
    const out = [];
    for (const name of ["a", "b", "c"]) out.push(await step("step//./p//work")(name, ms));
    return out;
  }`,
  "workflow//./p//sleepy": `async function sleepy() {
    await rt().sleep(150);
    return step("step//./p//work")("after-sleep", 1);
  }`,
};

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await wait(5);
  }
}

describe("pause and resume", () => {
  it("from another process: the running step finishes and is recorded, no step starts until resumed", async () => {
    const h = harness(WORKFLOWS);
    engines.push(h.engine);
    const operator = h.newEngine({ executeRuns: false });
    engines.push(operator);
    log.length = 0;
    const run = await h.start<string[]>("workflow//./p//three", [150]);
    await until(() => log.includes("start a"));
    await new Run(run.runId, operator).pause({ reason: "maintenance" });
    expect(await run.status).toBe("paused");
    await wait(400);
    expect(log).toEqual(["start a", "end a"]);
    const types = await eventTypes(h.world, run.runId);
    expect(types).toContain("step_completed:step_0001");
    expect(types).not.toContain("step_started:step_0002");
    await new Run(run.runId, operator).resume();
    expect(await run.returnValue).toEqual(["a", "b", "c"]);
    expect(log).toEqual(["start a", "end a", "start b", "end b", "start c", "end c"]);
    expect(h.engine.stats.replays).toBe(0);
  });

  it("a sleep that comes due while paused waits for the resume; a fresh process replays the pause", async () => {
    const world = createMemoryWorld();
    const h = harness(WORKFLOWS, { world, sweepIntervalMs: 50 });
    engines.push(h.engine);
    log.length = 0;
    const run = await h.start<string>("workflow//./p//sleepy");
    await until(async () => (await eventTypes(world, run.runId)).includes("wait_created:wait_0001"));
    await run.pause();
    await wait(400);
    expect(log).toEqual([]);
    expect((await world.getRun(run.runId))!.wakeAt).toBeUndefined();
    // Another process resumes it; this one's sweep picks the run up (it is due at once).
    const operator = h.newEngine({ executeRuns: false, sweepIntervalMs: false });
    engines.push(operator);
    await new Run(run.runId, operator).resume();
    expect(await run.returnValue).toBe("after-sleep");
    // Replaying the whole history in a fresh process gives the same result and runs nothing.
    const fresh = h.newEngine();
    engines.push(fresh);
    log.length = 0;
    expect(await new Run(run.runId, fresh).returnValue).toBe("after-sleep");
    expect(log).toEqual([]);
  });

  it("pausing twice or resuming a running run does nothing; an ended run is refused", async () => {
    const h = harness(WORKFLOWS);
    engines.push(h.engine);
    const run = await h.start<string[]>("workflow//./p//three", [1]);
    await run.resume();
    await run.pause();
    await run.pause();
    expect((await eventTypes(h.world, run.runId)).filter((t) => t === "run_paused")).toHaveLength(1);
    await run.resume();
    expect(await run.returnValue).toEqual(["a", "b", "c"]);
    await expect(run.pause()).rejects.toMatchObject({ code: "RUN_FINISHED" });
  });
});
