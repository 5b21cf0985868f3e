import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Engine, ReplaySubject } from "@wfkit/core";
import { afterAll, describe, expect, it } from "vitest";
import { replayRun } from "./replay-run.js";

const dir = mkdtempSync(path.join(tmpdir(), "wf-replay-run-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const log = {
  format: "wfkit.run-log",
  run: { runId: "wrun_1", workflowName: "workflow//./src/a//flow" },
  events: [{ type: "run_created", seq: 1, createdAt: 1 }],
};

/** An engine stand-in that records what it was asked to replay and answers as told. */
function engine(answer: (s: ReplaySubject) => unknown): { engine: Engine; seen: ReplaySubject[] } {
  const seen: ReplaySubject[] = [];
  return {
    seen,
    engine: {
      async replayLog(s: ReplaySubject) {
        seen.push(s);
        return answer(s);
      },
    } as unknown as Engine,
  };
}

describe("replayRun", () => {
  it("takes the export as an object, as JSON text, or as { file }", async () => {
    const ok = {
      ok: true,
      runId: "wrun_1",
      workflowName: "workflow//./src/a//flow",
      eventsReplayed: 1,
      next: [],
    };
    const e = engine(() => ok);
    const file = path.join(dir, "run.json");
    writeFileSync(file, JSON.stringify(log));
    for (const input of [log, JSON.stringify(log), { file }]) {
      expect(await replayRun(input, { engine: e.engine })).toEqual(ok);
    }
    expect(e.seen.map((s) => [s.runId, s.workflowName, s.events.length])).toEqual([
      ["wrun_1", "workflow//./src/a//flow", 1],
      ["wrun_1", "workflow//./src/a//flow", 1],
      ["wrun_1", "workflow//./src/a//flow", 1],
    ]);
  });

  it("rejects with the divergence the replay found", async () => {
    const error = Object.assign(new Error("The workflow code called step a where the log records step b"), {
      code: "REPLAY_DIVERGENCE",
    });
    const e = engine(() => ({ ok: false, runId: "wrun_1", workflowName: "w", error, seq: 3 }));
    await expect(replayRun(log, { engine: e.engine })).rejects.toBe(error);
  });

  it("explains input that is not an export", async () => {
    const e = engine(() => ({ ok: true }));
    await expect(replayRun("{", { engine: e.engine })).rejects.toThrow(/the log is not JSON/);
    await expect(replayRun({ run: {} } as never, { engine: e.engine })).rejects.toThrow(
      /expected a run log as `wf export <runId>` writes it/,
    );
    await expect(replayRun({ ...log, format: "other" }, { engine: e.engine })).rejects.toThrow(
      /unknown log format "other"/,
    );
    expect(e.seen).toEqual([]);
  });
});
