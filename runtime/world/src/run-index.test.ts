import { describe, expect, it } from "vitest";
import { isWorldError } from "./errors.js";
import { materialize } from "./materialize.js";
import { RunIndex } from "./run-index.js";
import type { NewEvent, WorkflowEvent } from "./types.js";

function run(runId: string, createdAt: number, more: NewEvent[] = []) {
  const events = [{ type: "run_created", data: { workflowName: "wf", input: "[]" } }, ...more].map(
    (e, i) => ({ ...e, runId, seq: i + 1, createdAt }) as WorkflowEvent,
  );
  return materialize(events);
}

describe("RunIndex", () => {
  it("lists newest first whatever order runs were added in, ties broken by runId", () => {
    const index = new RunIndex();
    index.add(run("b", 20));
    index.add(run("a", 10));
    index.add(run("d", 20));
    index.add(run("c", 30));
    expect(index.list().items.map((r) => r.runId)).toEqual(["c", "d", "b", "a"]);
    const first = index.list({ limit: 2 });
    expect(first.items.map((r) => r.runId)).toEqual(["c", "d"]);
    expect(index.list({ limit: 2, cursor: first.nextCursor }).items.map((r) => r.runId)).toEqual(["b", "a"]);
  });

  it("keeps a quarantined run listed but never offers it as work: no wake-up, skipped when asked", () => {
    const wait: NewEvent = { type: "wait_created", correlationId: "w", data: { resumeAt: 5 } };
    const index = new RunIndex();
    index.add(run("a", 1, [wait]));
    index.add(run("b", 2, [wait]));
    index.quarantine("a");
    expect(index.list().items.map((r) => r.runId)).toEqual(["b", "a"]);
    expect(index.list({ limit: 1 }, { skipQuarantined: true })).toEqual({
      items: [expect.objectContaining({ runId: "b" })],
    });
    expect(index.listDue(10)).toEqual([{ runId: "b", wakeAt: 5 }]);
    index.applied(index.get("a")!, { hooksCreated: [], hooksReleased: [], finished: false });
    expect(index.nextWakeAt()).toBe(5);
    expect(index.listDue(10).map((d) => d.runId)).toEqual(["b"]);
  });

  it("returns copies, so callers cannot change the index", () => {
    const index = new RunIndex();
    index.add(run("a", 1));
    index.list().items[0]!.status = "failed";
    expect(index.get("a")!.run.status).toBe("pending");
  });

  it("refuses a cursor it did not make and a nonsensical page size", () => {
    const index = new RunIndex();
    for (const bad of [{ cursor: "garbage" }, { limit: 0 }, { limit: 1.5 }]) {
      try {
        index.list(bad);
        expect.unreachable();
      } catch (e) {
        expect(isWorldError(e)).toBe(true);
      }
    }
    expect(index.list({ limit: 5000 }).items).toEqual([]);
  });

  it("indexes live hook tokens and wake-ups of runs added with their rows", () => {
    const index = new RunIndex();
    index.add(
      run("a", 1, [
        { type: "hook_created", correlationId: "h", data: { token: "t" } },
        { type: "wait_created", correlationId: "w", data: { resumeAt: 50 } },
      ]),
    );
    expect(index.tokenHolder("t")).toEqual({ runId: "a", hookId: "h" });
    expect(index.nextWakeAt()).toBe(50);
    expect(index.listDue(49)).toEqual([]);
    expect(index.listDue(50)).toEqual([{ runId: "a", wakeAt: 50 }]);
  });
});
