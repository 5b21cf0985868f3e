import { materialize, type NewEvent, type RunState, stampEvents, stateFromRows } from "@wfkit/world";
import { describe, expect, it } from "vitest";
import {
  hookFromRow,
  hookToRow,
  runFromRow,
  runToRow,
  stepFromRow,
  stepToRow,
  waitFromRow,
  waitToRow,
} from "./rows.js";

const log = (events: NewEvent[]) =>
  stampEvents(
    "wrun_1",
    0,
    [{ type: "run_created", data: { workflowName: "wf", input: "[]", metadata: { a: 1 } } }, ...events],
    1_000,
  ).map((e, i) => ({ ...e, createdAt: 1_000 + i }));

/** What a reload from the tables gives: every row through its column form and back. */
function reload(state: RunState): RunState {
  const json = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
  return stateFromRows(
    runFromRow(json(runToRow(state.run))),
    [...state.steps.values()].map((s) => stepFromRow(json(stepToRow(s)))),
    [...state.waits.values()].map((w) => waitFromRow(json(waitToRow(w)))),
    [...state.hooks.values()].map((h) => hookFromRow(json(hookToRow(h)))),
  );
}

describe("stateFromRows over the Postgres row forms", () => {
  it("rebuilds exactly the state the materialiser computed, pending wake-ups included", () => {
    const state = materialize(
      log([
        { type: "run_started" },
        { type: "step_created", correlationId: "s1", data: { stepName: "a", input: "[1]" } },
        { type: "step_started", correlationId: "s1", data: { attempt: 1 } },
        { type: "step_retrying", correlationId: "s1", data: { attempt: 1, error: "x", retryAt: 9_000 } },
        { type: "step_created", correlationId: "s2", data: { stepName: "b", input: "[]" } },
        { type: "step_started", correlationId: "s2", data: { attempt: 1 } },
        { type: "step_completed", correlationId: "s2", data: { output: "2" } },
        { type: "wait_created", correlationId: "w1", data: { resumeAt: 5_000 } },
        { type: "wait_created", correlationId: "w2", data: { resumeAt: 7_000 } },
        { type: "wait_completed", correlationId: "w2" },
        { type: "hook_created", correlationId: "h1", data: { token: "t", kind: "webhook", options: "{}" } },
        { type: "hook_created", correlationId: "h2", data: { token: "u" } },
        { type: "hook_disposed", correlationId: "h2" },
      ]),
    );
    expect(state.wakeups.size).toBe(2);
    expect(state.run.wakeAt).toBe(5_000);
    expect(reload(state)).toEqual(state);
  });

  it("keeps no wake-ups for a finished run", () => {
    const state = materialize(
      log([
        { type: "wait_created", correlationId: "w1", data: { resumeAt: 5_000 } },
        { type: "run_cancelled", data: { reason: "op" } },
      ]),
    );
    const again = reload(state);
    expect(again.wakeups.size).toBe(0);
    expect(again).toEqual(state);
  });
});
