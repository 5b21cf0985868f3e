/**
 * `replayRun(log)`: replays a run's exported log (`wf export <runId>`) against the workflow code this process
 * has now, without executing a step or recording anything. Resolves with what the replay found when the code
 * follows the log; rejects with the divergence (`code: "REPLAY_DIVERGENCE"`, naming what the code called and what
 * the log records) when it does not. Keep exports of real runs next to your tests to catch changes that would
 * break runs in flight.
 */
import { readFileSync } from "node:fs";
import { type Engine, getEngine, type ReplayReport, WorkflowRunNotFoundError } from "@wfkit/core";
import { exportRunLog, type RunExport } from "../run-export.js";

/** What `wf export` writes (only the fields a replay reads are required). */
export interface RunLog {
  format?: string;
  run: { runId: string; workflowName: string };
  events: { type: string; seq?: number; createdAt: number; correlationId?: string; data?: unknown }[];
}

export type ReplayResult = Extract<ReplayReport, { ok: true }>;

export interface ReplayRunOptions {
  /** The engine whose workflow code to replay against (default: the process's runtime). */
  engine?: Engine;
}

/** `log`: the export as an object, its JSON text, or `{ file }` naming a file `wf export -o` wrote. */
export async function replayRun(
  log: RunLog | string | { file: string },
  opts: ReplayRunOptions = {},
): Promise<ReplayResult> {
  const parsed = parseLog(log);
  const engine = opts.engine ?? getEngine();
  const report = await engine.replayLog({
    runId: parsed.run.runId,
    workflowName: parsed.run.workflowName,
    events: parsed.events as never,
  });
  if (!report.ok) throw report.error;
  return report;
}

function parseLog(log: RunLog | string | { file: string }): RunLog {
  let value: unknown = log;
  if (typeof log === "object" && log !== null && "file" in log && typeof log.file === "string") {
    value = readFileSync(log.file, "utf8");
  }
  if (typeof value === "string") {
    try {
      value = JSON.parse(value);
    } catch (error) {
      throw new TypeError(
        `replayRun(): the log is not JSON (${(error as Error).message}). Pass what \`wf export\` printed.`,
      );
    }
  }
  const v = value as Partial<RunLog> | null;
  if (
    !v ||
    typeof v !== "object" ||
    !v.run ||
    typeof v.run.runId !== "string" ||
    typeof v.run.workflowName !== "string" ||
    !Array.isArray(v.events)
  ) {
    throw new TypeError(
      "replayRun(): expected a run log as `wf export <runId>` writes it ({ run: { runId, workflowName, … }, events: [...] }).",
    );
  }
  if (v.format !== undefined && v.format !== "wfkit.run-log") {
    throw new TypeError(
      `replayRun(): unknown log format "${v.format}"; expected "wfkit.run-log" from \`wf export\`.`,
    );
  }
  return v as RunLog;
}

/**
 * A run of this process's world as `wf export <runId>` would write it: save it next to your tests (JSON) and
 * replay it with `replayRun()` after changing the workflow.
 */
export async function exportRun(
  run: string | { runId: string },
  opts: ReplayRunOptions = {},
): Promise<RunExport> {
  const runId = typeof run === "string" ? run : run.runId;
  const engine = opts.engine ?? getEngine();
  const exported = await exportRunLog(await engine.world(), runId);
  if (!exported) throw new WorkflowRunNotFoundError(runId);
  // Exactly what the JSON file holds (and a copy the caller may edit: worlds hand out frozen events).
  return JSON.parse(JSON.stringify(exported)) as RunExport;
}
