/** Replaying a recorded log against (changed) workflow code without executing anything: `engine.replayLog`. */
import { afterEach, describe, expect, it } from "vitest";
import { closingEngines, harness, registerStep } from "./__tests__/harness.js";

const closing = closingEngines();
let executed = 0;
registerStep("step//./r//a", async (n: number) => {
  executed++;
  return n + 1;
});
registerStep("step//./r//b", async (n: number) => {
  executed++;
  return n * 2;
});

const V1 = {
  "workflow//./r//flow": `async function flow(n) {
    const x = await step("step//./r//a")(n);
    await rt().sleep(10);
    return step("step//./r//b")(x);
  }`,
};
const V2_SWAPPED = {
  "workflow//./r//flow": `async function flow(n) {
    const x = await step("step//./r//b")(n);
    await rt().sleep(10);
    return step("step//./r//a")(x);
  }`,
};
const V3_EXTRA_STEP = {
  "workflow//./r//flow": `async function flow(n) {
    const x = await step("step//./r//a")(n);
    await rt().sleep(10);
    const y = await step("step//./r//b")(x);
    return step("step//./r//a")(y);
  }`,
};

afterEach(() => {
  executed = 0;
});

async function recordedLog() {
  const h = closing(harness(V1));
  const run = await h.start<number>("workflow//./r//flow", [3]);
  expect(await run.returnValue).toBe(8);
  const events = await h.world.readEvents(run.runId);
  return { h, subject: { runId: run.runId, workflowName: "workflow//./r//flow", events } };
}

describe("replayLog", () => {
  it("passes for the code that recorded the log, executing no step and recording nothing", async () => {
    const { h, subject } = await recordedLog();
    executed = 0;
    const before = (await h.world.readEvents(subject.runId)).length;
    const report = await h.engine.replayLog(subject);
    expect(report).toMatchObject({ ok: true, outcome: "completed", eventsReplayed: before, next: [] });
    expect(executed).toBe(0);
    expect((await h.world.readEvents(subject.runId)).length).toBe(before);
  });

  it("fails with REPLAY_DIVERGENCE naming both sides when the code calls other steps", async () => {
    const { h, subject } = await recordedLog();
    h.code.set(V2_SWAPPED);
    const report = await h.engine.replayLog(subject);
    expect(report.ok).toBe(false);
    if (report.ok) return;
    expect(report.error.code).toBe("REPLAY_DIVERGENCE");
    expect(report.error.message).toContain(
      `called step "step//./r//b" (step_0001) where the log records step "step//./r//a" (step_0001)`,
    );
    expect(report.seq).toBeGreaterThan(0);
  });

  it("fails when the log ends the run where the code would go on", async () => {
    const { h, subject } = await recordedLog();
    h.code.set(V3_EXTRA_STEP);
    const report = await h.engine.replayLog(subject);
    expect(report.ok).toBe(false);
    if (report.ok) return;
    expect(report.error.message).toMatch(
      /called step "step\/\/\.\/r\/\/a" \(step_0004\) where the log records the run's end \(run_completed\)/,
    );
  });

  it("reports an unfinished run's next operation without running it", async () => {
    const { h, subject } = await recordedLog();
    executed = 0;
    const cut = subject.events.findIndex((e) => e.type === "wait_completed");
    const report = await h.engine.replayLog({ ...subject, events: subject.events.slice(0, cut) });
    expect(report).toMatchObject({ ok: true, next: [] });
    const partial = subject.events.slice(0, cut + 1);
    const next = await h.engine.replayLog({ ...subject, events: partial });
    expect(next).toMatchObject({
      ok: true,
      next: [{ kind: "step", name: "step//./r//b", correlationId: "step_0003" }],
    });
    expect(executed).toBe(0);
  });
});
