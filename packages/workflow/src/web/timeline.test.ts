import type { WorkflowEvent } from "@wfkit/core";
import { describe, expect, it } from "vitest";
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
