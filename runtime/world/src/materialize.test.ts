import { describe, expect, it } from "vitest";
import { HookTokenConflictError, isWorldError } from "./errors.js";
import { applyEvents, checkBatchShape, checkHookTokens, materialize, stampEvents } from "./materialize.js";
import type { NewEvent, WorkflowEvent } from "./types.js";

function log(events: NewEvent[]): WorkflowEvent[] {
  return events.map(
    (e, i) => ({ ...e, runId: "r", seq: i + 1, createdAt: e.createdAt ?? 1000 + i }) as WorkflowEvent,
  );
}

const created: NewEvent = { type: "run_created", data: { workflowName: "wf", input: "[1]" } };

describe("materialize", () => {
  it("builds the run row from run_created and follows the run's status", () => {
    const s = materialize(
      log([created, { type: "run_started" }, { type: "run_completed", data: { output: "42" } }]),
    );
    expect(s.run).toMatchObject({
      runId: "r",
      workflowName: "wf",
      input: "[1]",
      status: "completed",
      output: "42",
      createdAt: 1000,
      startedAt: 1001,
      completedAt: 1002,
      updatedAt: 1002,
      lastSeq: 3,
    });
  });

  it("tracks a step through retries to completion, with its wake-up", () => {
    const s = materialize(
      log([
        created,
        { type: "step_created", correlationId: "s1", data: { stepName: "step//a//b", input: "[]" } },
        { type: "step_started", correlationId: "s1", data: { attempt: 1 } },
        { type: "step_retrying", correlationId: "s1", data: { attempt: 1, error: "boom", retryAt: 9000 } },
      ]),
    );
    expect(s.steps.get("s1")).toMatchObject({ status: "retrying", attempt: 1, error: "boom", retryAt: 9000 });
    expect(s.run.wakeAt).toBe(9000);
    applyEvents(
      s,
      log([
        created,
        created,
        created,
        created,
        { type: "step_started", correlationId: "s1", data: { attempt: 2 } },
        { type: "step_completed", correlationId: "s1", data: { output: "ok" } },
      ]).slice(4),
    );
    const step = s.steps.get("s1")!;
    expect(step).toMatchObject({
      status: "completed",
      attempt: 2,
      output: "ok",
      startedAt: 1004,
      completedAt: 1005,
    });
    expect(step.error).toBeUndefined();
    expect(step.retryAt).toBeUndefined();
    expect(s.run.wakeAt).toBeUndefined();
  });

  it("keeps a step's first result when a duplicate arrives", () => {
    const s = materialize(
      log([
        created,
        { type: "step_created", correlationId: "s1", data: { stepName: "x", input: "[]" } },
        { type: "step_completed", correlationId: "s1", data: { output: "first" } },
        { type: "step_completed", correlationId: "s1", data: { output: "second" } },
      ]),
    );
    expect(s.steps.get("s1")!.output).toBe("first");
  });

  it("takes the earliest of several wake-ups and clears them when the run ends", () => {
    const s = materialize(
      log([
        created,
        { type: "wait_created", correlationId: "w1", data: { resumeAt: 5000 } },
        { type: "wait_created", correlationId: "w2", data: { resumeAt: 3000 } },
      ]),
    );
    expect(s.run.wakeAt).toBe(3000);
    applyEvents(s, [{ type: "wait_completed", correlationId: "w2", runId: "r", seq: 4, createdAt: 3001 }]);
    expect(s.run.wakeAt).toBe(5000);
    expect(s.waits.get("w2")).toMatchObject({ status: "completed", completedAt: 3001 });
    const fx = applyEvents(s, [
      { type: "run_cancelled", data: { reason: "op" }, runId: "r", seq: 5, createdAt: 3002 },
    ]);
    expect(fx.finished).toBe(true);
    expect(s.run).toMatchObject({ status: "cancelled", cancelReason: "op", completedAt: 3002 });
    expect(s.run.wakeAt).toBeUndefined();
  });

  it("disposes a run's live hooks when it ends and reports the freed tokens", () => {
    const s = materialize(
      log([created, { type: "hook_created", correlationId: "h1", data: { token: "tok", metadata: "m" } }]),
    );
    expect(s.hooks.get("h1")).toMatchObject({ token: "tok", kind: "hook", status: "active", metadata: "m" });
    const fx = applyEvents(s, [
      { type: "run_failed", data: { error: "e" }, runId: "r", seq: 3, createdAt: 5 },
    ]);
    expect(fx.hooksReleased.map((h) => h.token)).toEqual(["tok"]);
    expect(s.hooks.get("h1")).toMatchObject({ status: "disposed", disposedAt: 5 });
    expect(s.run.error).toBe("e");
  });

  it("refuses a log that does not start with run_created", () => {
    expect(() => materialize(log([{ type: "run_started" }]))).toThrow(/run_created/);
  });
});

describe("stampEvents", () => {
  it("numbers densely after lastSeq, keeps an engine-chosen time and copies data", () => {
    const data = { output: "x" };
    const out = stampEvents(
      "r",
      4,
      [{ type: "run_started" }, { type: "run_completed", data, createdAt: 7 }],
      100,
    );
    expect(out.map((e) => [e.seq, e.createdAt])).toEqual([
      [5, 100],
      [6, 7],
    ]);
    expect(out[1]!.data).not.toBe(data);
    expect("correlationId" in out[0]!).toBe(false);
  });
});

describe("checkBatchShape", () => {
  it("refuses empty batches, run_created in appends, missing correlation IDs and events after the end", () => {
    expect(() => checkBatchShape("r", [], false)).toThrow(/no events/);
    expect(() => checkBatchShape("r", [created], false)).toThrow(/createRun/);
    expect(() => checkBatchShape("r", [{ type: "step_started", data: { attempt: 1 } }], false)).toThrow(
      /correlationId/,
    );
    try {
      checkBatchShape("r", [{ type: "run_completed", data: { output: "" } }, { type: "run_started" }], false);
      expect.unreachable();
    } catch (e) {
      expect(isWorldError(e, "INVALID_EVENT")).toBe(true);
    }
  });
});

describe("checkHookTokens", () => {
  const hook = (id: string, token: string): NewEvent => ({
    type: "hook_created",
    correlationId: id,
    data: { token },
  });

  it("refuses a token a live hook of another run holds", () => {
    expect(() => checkHookTokens("r", [hook("h", "t")], () => ({ runId: "other", hookId: "x" }))).toThrow(
      HookTokenConflictError,
    );
  });

  it("refuses the same token twice in one batch, but allows it after a dispose in the batch", () => {
    expect(() => checkHookTokens("r", [hook("a", "t"), hook("b", "t")], () => undefined)).toThrow(
      /already held/,
    );
    expect(
      checkHookTokens(
        "r",
        [hook("a", "t"), { type: "hook_disposed", correlationId: "a" }, hook("b", "t")],
        () => undefined,
      ),
    ).toEqual([{ token: "t", hookId: "b" }]);
    expect(
      checkHookTokens("r", [{ type: "hook_disposed", correlationId: "old" }, hook("b", "t")], () => ({
        runId: "r",
        hookId: "old",
      })),
    ).toEqual([{ token: "t", hookId: "b" }]);
  });
});
