import { applyEvents, materialize, type NewEvent, stampEvents } from "@wfkit/world";
import { describe, expect, it } from "vitest";
import { touchedRows } from "./append-batch.js";

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
