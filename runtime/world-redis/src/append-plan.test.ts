import {
  applyEvents,
  createRunState,
  type Lease,
  type NewEvent,
  type RunState,
  stampEvents,
} from "@wfkit/world";
import { describe, expect, it } from "vitest";
import { appendArgs, checkOwnTokens } from "./append-plan.js";
import { forgetReached, takeReached, tracked } from "./tracked-rows.js";

function runState(): RunState {
  const [created] = stampEvents(
    "wrun_1",
    0,
    [{ type: "run_created", data: { workflowName: "wf", input: "[]" } }],
    1,
  );
  return createRunState(created!);
}

/** Applies a batch as the world does and returns the script arguments, split into their counted lists. */
function plan(state: RunState, batch: NewEvent[], lease?: Lease) {
  const expectedSeq = state.run.lastSeq;
  const checked = checkOwnTokens(state, batch);
  const stamped = stampEvents("wrun_1", expectedSeq, batch, 100);
  forgetReached(tracked(state));
  const effects = applyEvents(state, stamped);
  const args = appendArgs(state, expectedSeq, lease, checked, stamped, effects, takeReached(state), "note");
  const head = args.slice(0, 10);
  let i = 10;
  const list = (width: number) => {
    const n = Number(args[i]);
    const items = args.slice(i + 1, i + 1 + n * width);
    i += 1 + n * width;
    return items;
  };
  const lists = {
    events: list(1),
    steps: list(2),
    waits: list(2),
    hooks: list(2),
    released: list(2),
    checked: list(1),
    taken: list(2),
    consumed: list(1),
  };
  expect(i).toBe(args.length);
  return { head, ...lists };
}

describe("the append script's arguments", () => {
  it("carry the run row, the touched rows, the wake-up and the lease", () => {
    const state = runState();
    const p = plan(
      state,
      [
        { type: "run_started" },
        { type: "step_created", correlationId: "s1", data: { stepName: "x", input: "[]" } },
        { type: "wait_created", correlationId: "w1", data: { resumeAt: 5_000 } },
      ],
      { runId: "wrun_1", owner: "A", token: 7, expiresAt: 0 },
    );
    expect(p.head).toEqual([
      "wrun_1",
      1,
      "A",
      "7",
      4,
      "running",
      JSON.stringify(state.run),
      "5000",
      "0",
      "note",
    ]);
    expect(p.events.map((e) => JSON.parse(String(e)).seq)).toEqual([2, 3, 4]);
    expect(p.steps[0]).toBe("s1");
    expect(p.waits[0]).toBe("w1");
    expect(p.hooks).toEqual([]);
  });

  it("check every token a hook_created names, but take only those still live after the batch", () => {
    const state = runState();
    const p = plan(state, [
      { type: "hook_created", correlationId: "h1", data: { token: "kept" } },
      { type: "hook_created", correlationId: "h2", data: { token: "brief" } },
      { type: "hook_disposed", correlationId: "h2" },
    ]);
    expect(p.checked).toEqual(["kept", "brief"]);
    expect(p.taken).toEqual(["kept", "h1"]);
    expect(p.released).toEqual(["brief", "h2"]);
  });

  it("for a run's end: release its live hooks (rows included), no wake-up, consumed deliveries named", () => {
    const state = runState();
    plan(state, [
      { type: "hook_created", correlationId: "h1", data: { token: "t1" } },
      { type: "wait_created", correlationId: "w1", data: { resumeAt: 5_000 } },
    ]);
    const p = plan(state, [
      { type: "hook_received", correlationId: "h1", data: { payload: "1", deliveryId: "d1" } },
      { type: "run_completed", data: { output: "1" } },
    ]);
    expect(p.head.slice(5)).toEqual(["completed", JSON.stringify(state.run), "", "1", "note"]);
    expect(p.released).toEqual(["t1", "h1"]);
    expect(JSON.parse(String(p.hooks[1]))).toMatchObject({ hookId: "h1", status: "disposed" });
    expect(p.consumed).toEqual(["d1"]);
  });
});

describe("the rows an append writes", () => {
  it("are the rows the materialiser reached, also for events that name none (a retry re-opens steps and hooks)", () => {
    const state = runState();
    plan(state, [
      { type: "step_created", correlationId: "ok", data: { stepName: "x", input: "[]" } },
      { type: "step_created", correlationId: "bad", data: { stepName: "x", input: "[]" } },
      { type: "hook_created", correlationId: "h1", data: { token: "t1" } },
      { type: "step_failed", correlationId: "bad", data: { error: "e" } },
    ]);
    plan(state, [{ type: "run_failed", data: { error: "e" } }]);
    const p = plan(state, [
      { type: "run_retried", data: { rescinds: [], steps: ["bad"], hooks: [{ hookId: "h1", token: "t1" }] } },
    ]);
    const written = (rows: unknown[]) =>
      Object.fromEntries(
        rows.flatMap((v, i) => (i % 2 ? [] : [[v, JSON.parse(String(rows[i + 1])).status]])),
      );
    expect(written(p.steps)).toMatchObject({ bad: "pending", ok: "pending" });
    expect(written(p.hooks)).toEqual({ h1: "active" });
    expect(p.taken).toEqual(["t1", "h1"]);
    expect(p.checked).toEqual(["t1"]);
    // A plain step event writes its own row only.
    const q = plan(state, [{ type: "step_started", correlationId: "bad", data: { attempt: 2 } }]);
    expect(q.steps[0]).toBe("bad");
    expect(q.steps).toHaveLength(2);
    expect(q.hooks).toEqual([]);
  });
});
