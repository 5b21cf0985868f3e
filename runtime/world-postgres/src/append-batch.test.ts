import { applyEvents, materialize, type NewEvent, stampEvents } from "@wfkit/world";
import { describe, expect, it } from "vitest";
import { type LoadedRun, refusal, sameEvent, touchedRows } from "./append-batch.js";

const created = stampEvents("r", 0, [{ type: "run_created", data: { workflowName: "wf", input: "[]" } }], 1);

function apply(state: ReturnType<typeof materialize>, events: NewEvent[]) {
  const stamped = stampEvents("r", state.run.lastSeq, events, 2);
  return { stamped, effects: applyEvents(state, stamped) };
}

describe("touchedRows", () => {
  it("sends the run row and only the rows the batch named, released hooks first", () => {
    const state = materialize(created);
    apply(state, [
      { type: "step_created", correlationId: "old", data: { stepName: "s", input: "[]" } },
      { type: "hook_created", correlationId: "h1", data: { token: "t" } },
    ]);
    const { stamped, effects } = apply(state, [
      { type: "hook_received", correlationId: "h2", data: { payload: "" } },
      { type: "hook_disposed", correlationId: "h1" },
      { type: "hook_created", correlationId: "h2", data: { token: "t" } },
      { type: "wait_created", correlationId: "w", data: { resumeAt: 5 } },
    ]);
    const rows = touchedRows(state, stamped, effects.hooksReleased) as Record<
      string,
      Record<string, unknown>[]
    >;
    expect(rows.run).toMatchObject({ run_id: "r", last_seq: 7, wake_at: 5 });
    expect(rows.steps).toBeUndefined(); // "old" was not named by this batch
    expect(rows.waits).toEqual([expect.objectContaining({ wait_id: "w", status: "waiting" })]);
    expect(rows.hooks!.map((h) => [h.hook_id, h.status])).toEqual([
      ["h1", "disposed"],
      ["h2", "active"],
    ]);
  });

  it("includes the hooks a run's end released although the batch did not name them", () => {
    const state = materialize(created);
    apply(state, [{ type: "hook_created", correlationId: "h1", data: { token: "t" } }]);
    const { stamped, effects } = apply(state, [{ type: "run_completed", data: { output: "1" } }]);
    const rows = touchedRows(state, stamped, effects.hooksReleased) as Record<
      string,
      Record<string, unknown>[]
    >;
    expect(rows.hooks).toEqual([expect.objectContaining({ hook_id: "h1", status: "disposed" })]);
  });
});

describe("refusal", () => {
  const loaded = (over: Partial<LoadedRun["lease"]> = {}, status = "running" as const): LoadedRun => {
    const state = materialize(created);
    state.run.status = status;
    return { state, dbNow: 1_000, lease: { held: true, owner: "A", token: 3, expiresAt: 2_000, ...over } };
  };
  const lease = { runId: "r", owner: "A", token: 3, expiresAt: 2_000 };

  it("checks the lease first, then the end of the run, then the head", () => {
    const batch: NewEvent[] = [{ type: "run_started" }];
    expect(refusal("r", 1, loaded(), lease, batch)).toBeUndefined();
    expect(refusal("r", 1, loaded({ expiresAt: 900 }, "completed"), lease, batch)).toMatchObject({
      code: "LEASE_LOST",
    });
    expect(refusal("r", 1, loaded({ token: 4 }), lease, batch)).toMatchObject({ code: "LEASE_LOST" });
    expect(refusal("r", 1, loaded({ held: false }), lease, batch)).toMatchObject({ code: "LEASE_LOST" });
    expect(refusal("r", 5, loaded({}, "completed"), lease, batch)).toMatchObject({ code: "RUN_FINISHED" });
    expect(refusal("r", 5, loaded(), undefined, batch)).toMatchObject({
      code: "APPEND_CONFLICT",
      actualSeq: 1,
    });
    const retry: NewEvent[] = [{ type: "run_retried", data: { rescinds: [], steps: [], hooks: [] } }];
    expect(refusal("r", 1, loaded({}, "failed"), lease, retry)).toBeUndefined();
    expect(refusal("r", 1, loaded({}, "failed"), lease, batch)).toMatchObject({ code: "RUN_FINISHED" });
  });
});

describe("sameEvent", () => {
  it("compares sequence, type, correlation, time and data", () => {
    const [a] = stampEvents(
      "r",
      1,
      [{ type: "step_completed", correlationId: "s", data: { output: "1" } }],
      9,
    );
    expect(sameEvent(a!, JSON.parse(JSON.stringify(a)))).toBe(true);
    expect(sameEvent(a!, { ...a!, createdAt: 10 })).toBe(false);
    expect(sameEvent(a!, { ...a!, data: { output: "2" } } as typeof a)).toBe(false);
  });
});
