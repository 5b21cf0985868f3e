import { materialize, type NewEvent, type RunState, stampEvents } from "@wfkit/world";
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
import { RunStateCache, stateFromRows } from "./run-state-cache.js";

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

describe("stateFromRows", () => {
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

describe("RunStateCache", () => {
  const stateOf = (runId: string, status: RunState["run"]["status"] = "running") =>
    ({ run: { runId, status } }) as RunState;

  it("evicts the least recently used run beyond its capacity", () => {
    const cache = new RunStateCache(2);
    cache.set(stateOf("a"));
    cache.set(stateOf("b"));
    cache.get("a"); // a is now the most recent
    cache.set(stateOf("c"));
    expect(cache.get("b")).toBeUndefined();
    expect(cache.get("a")).toBeDefined();
    expect(cache.get("c")).toBeDefined();
    expect(cache.size).toBe(2);
  });

  it("never keeps finished runs' states, and drops an entry replaced by a finished state", () => {
    const cache = new RunStateCache(10);
    cache.set(stateOf("a"));
    cache.set(stateOf("a", "completed"));
    expect(cache.get("a")).toBeUndefined();
    cache.set(stateOf("b", "failed"));
    expect(cache.size).toBe(0);
  });

  it("remembers the records of completed and cancelled runs, bounded like the states, as copies", () => {
    const cache = new RunStateCache(2);
    const a = stateOf("a", "completed");
    cache.set(a);
    a.run.status = "running"; // a later change to the caller's object must not reach the cache
    expect(cache.finished("a")?.status).toBe("completed");
    expect(cache.finished("b")).toBeUndefined();
    cache.set(stateOf("b", "cancelled"));
    cache.set(stateOf("c", "cancelled"));
    expect(cache.finished("a")).toBeUndefined();
    // A failed run may still be retried: its record is not final.
    cache.set(stateOf("f", "failed"));
    expect(cache.finished("f")).toBeUndefined();
    expect(cache.get("f")).toBeUndefined();
    expect(cache.finished("c")?.status).toBe("cancelled");
    cache.clear();
    expect(cache.finished("c")).toBeUndefined();
  });
});
