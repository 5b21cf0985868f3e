import { describe, expect, it } from "vitest";
import { type WatchedRun, waitForHook, waitForSleep } from "./wait.js";

type Ev = { type: string; correlationId?: string; data?: Record<string, unknown> };

/** A run whose log grows by one batch per read. */
function fakeRun(batches: Ev[][]): WatchedRun {
  const events: Ev[] = [];
  let seq = 0;
  return {
    runId: "wrun_fake",
    status: Promise.resolve("running"),
    async events() {
      events.push(...(batches.shift() ?? []));
      return events.map((e) => ({ runId: "wrun_fake", seq: ++seq, createdAt: new Date(0), ...e })) as never;
    },
  };
}

describe("waitForSleep", () => {
  it("returns the first sleep without a wait_completed, once the log has one", async () => {
    const run = fakeRun([
      [{ type: "run_created" }],
      [
        { type: "wait_created", correlationId: "wait_0001" },
        { type: "wait_completed", correlationId: "wait_0001" },
      ],
      [{ type: "wait_created", correlationId: "wait_0002" }],
    ]);
    expect(await waitForSleep(run, { pollInterval: 1 })).toBe("wait_0002");
  });

  it("fails at once when the run ends first, and after the timeout otherwise", async () => {
    await expect(waitForSleep(fakeRun([[{ type: "run_completed" }]]), { pollInterval: 1 })).rejects.toThrow(
      "Run wrun_fake ended (run_completed) without reaching a pending sleep()",
    );
    await expect(waitForSleep(fakeRun([]), { timeout: 30, pollInterval: 5 })).rejects.toThrow(
      /did not reach a pending sleep\(\) within 30 ms \(status: running\)/,
    );
  });
});

describe("waitForHook", () => {
  it("matches the token and skips hooks that already received a payload", async () => {
    const run = fakeRun([
      [
        { type: "hook_created", correlationId: "hook_0001", data: { token: "a", kind: "hook" } },
        { type: "hook_received", correlationId: "hook_0001" },
        { type: "hook_created", correlationId: "hook_0002", data: { token: "b", kind: "webhook" } },
      ],
      [
        {
          type: "hook_created",
          correlationId: "hook_0003",
          data: { token: "a", kind: "hook", metadata: { n: 1 } },
        },
      ],
    ]);
    const hook = await waitForHook(run, { token: "a", pollInterval: 1 });
    expect(hook).toEqual({
      runId: "wrun_fake",
      hookId: "hook_0003",
      token: "a",
      kind: "hook",
      metadata: { n: 1 },
      createdAt: new Date(0),
    });
  });

  it("without a token, returns the first pending hook", async () => {
    const run = fakeRun([
      [{ type: "hook_created", correlationId: "hook_0001", data: { token: "whk_x", kind: "webhook" } }],
    ]);
    expect((await waitForHook(run)).token).toBe("whk_x");
  });

  it("refuses something that is not a run", async () => {
    await expect(waitForHook({} as WatchedRun)).rejects.toThrow(
      "Expected the Run that start() or getRun() returned.",
    );
  });
});
