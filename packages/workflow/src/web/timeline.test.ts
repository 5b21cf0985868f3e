import { type WorkflowEvent, worldFromEnv } from "@wfkit/core";
import { describe, expect, it } from "vitest";
import { serialize } from "../../../../runtime/core/src/serialization/codec.js";
import { createDashboard } from "./dashboard.js";
import { buildTimeline } from "./timeline.js";

let seq = 0;
const ev = (createdAt: number, e: Omit<WorkflowEvent, "runId" | "seq" | "createdAt">): WorkflowEvent =>
  ({ runId: "r", seq: ++seq, createdAt, ...e }) as WorkflowEvent;

describe("buildTimeline", () => {
  it("keeps every attempt with its back-off, sleeps with their wake-up, hooks with their payload times", () => {
    seq = 0;
    const events = [
      ev(100, { type: "run_created", data: { workflowName: "w", input: "[]" } }),
      ev(110, { type: "run_started" }),
      ev(120, { type: "step_created", correlationId: "step_0001", data: { stepName: "s", input: "[]" } }),
      ev(130, { type: "step_started", correlationId: "step_0001", data: { attempt: 1 } }),
      ev(140, {
        type: "step_retrying",
        correlationId: "step_0001",
        data: { attempt: 1, error: "x", retryAt: 200 },
      }),
      ev(200, { type: "step_started", correlationId: "step_0001", data: { attempt: 2 } }),
      ev(250, { type: "step_completed", correlationId: "step_0001", data: { output: "1" } }),
      ev(260, { type: "wait_created", correlationId: "wait_0002", data: { resumeAt: 300 } }),
      ev(301, { type: "wait_completed", correlationId: "wait_0002" }),
      ev(310, { type: "hook_created", correlationId: "hook_0003", data: { token: "t" } }),
      ev(320, { type: "hook_received", correlationId: "hook_0003", data: { payload: "1" } }),
      ev(330, { type: "step_created", correlationId: "step_0004", data: { stepName: "c", input: "[]" } }),
      ev(331, { type: "step_started", correlationId: "step_0004", data: { attempt: 1 } }),
      ev(340, { type: "step_failed", correlationId: "step_0004", data: { error: "e" } }),
      ev(341, { type: "run_failed", data: { error: "e" } }),
      // An operator's retry takes the failure back: the step runs again and is no longer "failed".
      ev(400, { type: "run_retried", data: { rescinds: [14, 15], steps: ["step_0004"], hooks: [] } }),
      ev(410, { type: "step_started", correlationId: "step_0004", data: { attempt: 1 } }),
    ];
    const timeline = buildTimeline(events);
    expect(timeline.start).toBe(100);
    expect(timeline.end).toBe(410);
    const [step, sleep, hook, charge] = timeline.items;
    expect(step).toMatchObject({ kind: "step", status: "completed", start: 120, end: 250 });
    expect(step?.attempts).toEqual([
      { attempt: 1, start: 130, end: 140, outcome: "retrying", retryAt: 200 },
      { attempt: 2, start: 200, end: 250, outcome: "completed" },
    ]);
    expect(sleep).toMatchObject({ kind: "sleep", status: "completed", start: 260, end: 301, resumeAt: 300 });
    expect(hook).toMatchObject({ kind: "hook", name: "t", status: "received", received: [320] });
    expect(charge).toMatchObject({ status: "running", end: undefined });
    expect(charge?.attempts?.map((a) => a.outcome)).toEqual(["failed", "running"]);
  });
});

describe("a run of 10,000 steps", () => {
  it("opens with its timeline, leaves step values out of the detail, and pages its events", async () => {
    const world = await worldFromEnv({ WORKFLOW_TARGET_WORLD: "memory" });
    const { run } = await world.createRun({ workflowName: "workflow//./big//big", input: serialize([]) });
    let lastSeq = run.lastSeq;
    for (let i = 1; i <= 10_000; i += 500) {
      const batch = [];
      for (let j = i; j < i + 500; j++) {
        const correlationId = `step_${String(j).padStart(4, "0")}`;
        batch.push(
          {
            type: "step_created" as const,
            correlationId,
            data: { stepName: "step//./big//s", input: serialize({ args: [j] }) },
          },
          { type: "step_started" as const, correlationId, data: { attempt: 1 } },
          { type: "step_completed" as const, correlationId, data: { output: serialize(j * 2) } },
        );
      }
      lastSeq = (await world.append(run.runId, lastSeq, batch)).run.lastSeq;
    }
    const dashboard = createDashboard({ world, readOnly: true });
    const began = Date.now();
    const response = await dashboard(new Request(`http://x/api/runs/${run.runId}`));
    const detail = await response.json();
    expect(Date.now() - began).toBeLessThan(10_000);
    expect(detail.timeline.items).toHaveLength(10_000);
    expect(detail.steps).toHaveLength(10_000);
    expect(detail.stepValuesIncluded).toBe(false);
    expect(detail.steps[9_999]).toMatchObject({ stepId: "step_10000", status: "completed" });
    expect(detail.steps[9_999].output).toBeUndefined();
    const step = await (
      await dashboard(new Request(`http://x/api/runs/${run.runId}/steps/step_10000`))
    ).json();
    expect(step).toMatchObject({ input: { args: [10_000] }, output: 20_000 });
    const page = await (
      await dashboard(new Request(`http://x/api/runs/${run.runId}/events?after=29990&limit=100`))
    ).json();
    expect(page.data.map((e: { seq: number }) => e.seq)).toEqual([
      29_991, 29_992, 29_993, 29_994, 29_995, 29_996, 29_997, 29_998, 29_999, 30_000, 30_001,
    ]);
    expect(page.hasMore).toBe(false);
    await world.close();
  });
});
