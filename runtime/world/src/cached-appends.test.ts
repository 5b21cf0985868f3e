import { describe, expect, it } from "vitest";
import {
  type LoadedRun,
  lostAppend,
  RunStateCache,
  refusal,
  sameEvent,
  stateFromRows,
} from "./cached-appends.js";
import { createRunState, materialize, type RunState, stampEvents } from "./materialize.js";
import { createMemoryWorld } from "./memory.js";
import type { Lease, NewEvent, WorkflowEvent } from "./types.js";

function runState(): RunState {
  const [created] = stampEvents(
    "wrun_1",
    0,
    [{ type: "run_created", data: { workflowName: "wf", input: "[]" } }],
    1,
  );
  return createRunState(created!);
}

describe("stateFromRows", () => {
  it("rebuilds the state the materialiser computed, pending wake-ups included", () => {
    const state = materialize(
      stampEvents(
        "r",
        0,
        [
          { type: "run_created", data: { workflowName: "wf", input: "[]" } },
          { type: "run_started" },
          { type: "step_created", correlationId: "s1", data: { stepName: "a", input: "[1]" } },
          { type: "step_started", correlationId: "s1", data: { attempt: 1 } },
          { type: "step_retrying", correlationId: "s1", data: { attempt: 1, error: "x", retryAt: 9_000 } },
          { type: "wait_created", correlationId: "w1", data: { resumeAt: 5_000 } },
          { type: "hook_created", correlationId: "h1", data: { token: "t" } },
        ],
        1_000,
      ),
    );
    const rebuilt = stateFromRows(
      { ...state.run },
      [...state.steps.values()],
      [...state.waits.values()],
      [...state.hooks.values()],
    );
    expect(rebuilt).toEqual(state);
    expect(rebuilt.wakeups).toEqual(
      new Map([
        ["w1", 5_000],
        ["s1", 9_000],
      ]),
    );
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

  it("catches a state up with the events it missed, and drops it when they do not follow on", async () => {
    const cache = new RunStateCache(10);
    const state = runState();
    cache.set(state);
    const missed = stampEvents(
      "wrun_1",
      1,
      [{ type: "run_started" }, { type: "wait_created", correlationId: "w", data: { resumeAt: 5 } }],
      2,
    );
    const asked: number[] = [];
    const caught = await cache.catchUp(state, async (_, afterSeq) => {
      asked.push(afterSeq);
      return missed;
    });
    expect(asked).toEqual([1]);
    expect(caught?.run).toMatchObject({ status: "running", lastSeq: 3 });
    expect(cache.get("wrun_1")).toBe(caught);

    const gap = stampEvents("wrun_1", 4, [{ type: "wait_completed", correlationId: "w" }], 3);
    expect(await cache.catchUp(caught!, async () => gap)).toBeUndefined();
    expect(cache.get("wrun_1")).toBeUndefined();
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

describe("lostAppend", () => {
  it("tells an append that was stored from one that was not and from another writer's", async () => {
    const world = createMemoryWorld();
    const { run } = await world.createRun({ workflowName: "wf", input: "[]" });
    const ours = stampEvents(run.runId, 1, [{ type: "run_started" }], 5);
    expect(await lostAppend(world, run.runId, 1, ours)).toEqual({ kind: "absent" });
    const stored: WorkflowEvent[] = (
      await world.append(run.runId, 1, [{ type: "run_started", createdAt: 5 }])
    ).events;
    expect(await lostAppend(world, run.runId, 1, stored)).toEqual({ kind: "stored" });
    const theirs = stampEvents(run.runId, 1, [{ type: "run_started" }], 6);
    expect(await lostAppend(world, run.runId, 1, theirs)).toEqual({ kind: "conflict", actualSeq: 2 });
    await world.close();
  });
});

describe("refusal of a batch by a freshly read run", () => {
  const loaded = (over: Partial<LoadedRun["lease"]> = {}, status = "running" as const): LoadedRun => {
    const state = runState();
    state.run.status = status;
    state.run.lastSeq = 3;
    return {
      state,
      serverNow: 1_000,
      lease: { held: true, owner: "A", token: 2, expiresAt: 2_000, ...over },
    };
  };
  const lease: Lease = { runId: "wrun_1", owner: "A", token: 2, expiresAt: 2_000 };

  const started: NewEvent[] = [{ type: "run_started" }];
  const retry: NewEvent[] = [{ type: "run_retried", data: { rescinds: [], steps: [], hooks: [] } }];

  it("comes in the memory world's order: lease, whether the run accepts the batch, head", () => {
    expect(refusal("wrun_1", 3, loaded(), lease, started)).toBeUndefined();
    expect(refusal("wrun_1", 3, loaded({ expiresAt: 1_000 }, "completed"), lease, started)?.name).toBe(
      "LeaseLostError",
    );
    expect(refusal("wrun_1", 3, loaded({ token: 3 }), lease, started)?.name).toBe("LeaseLostError");
    expect(refusal("wrun_1", 3, loaded({ held: false }), lease, started)?.name).toBe("LeaseLostError");
    expect(refusal("wrun_1", 3, loaded({ owner: "B" }), lease, started)?.name).toBe("LeaseLostError");
    expect(refusal("wrun_1", 1, loaded({}, "completed" as never), undefined, started)?.name).toBe(
      "RunFinishedError",
    );
    expect(refusal("wrun_1", 1, loaded(), undefined, started)).toMatchObject({
      code: "APPEND_CONFLICT",
      expectedSeq: 1,
      actualSeq: 3,
    });
  });

  it("lets a failed run take a retry and nothing else (the shared rule, checkAppendable)", () => {
    expect(refusal("wrun_1", 3, loaded({}, "failed" as never), undefined, retry)).toBeUndefined();
    expect(refusal("wrun_1", 3, loaded({}, "failed" as never), undefined, started)?.name).toBe(
      "RunFinishedError",
    );
    expect(refusal("wrun_1", 3, loaded(), undefined, retry)).toMatchObject({ code: "INVALID_EVENT" });
  });
});
