/**
 * Replays a recorded log against workflow code without executing anything: every step, sleep and hook is answered
 * from the log, nothing is appended. Used by `replayRun()` (`workflow/testing`) and `wf verify` to learn whether
 * the current code would continue a recorded run, or diverge from it (`REPLAY_DIVERGENCE`) and where.
 */

import type { Script } from "node:vm";
import { ReplayDivergenceError } from "./engine-errors.js";
import { withStartInput } from "./flow-control.js";
import { type AppliedEvent, type Operation, WorkflowInstance } from "./instance.js";

export interface ReplaySubject {
  runId: string;
  workflowName: string;
  events: readonly AppliedEvent[];
}

export type ReplayReport =
  | {
      ok: true;
      runId: string;
      workflowName: string;
      eventsReplayed: number;
      /** What the code asks for next that the log does not hold yet (an unfinished run's next operations). */
      next: { correlationId: string; kind: string; name: string }[];
      /** The code's own outcome after the replay, when it has settled. */
      outcome?: "completed" | "failed";
    }
  | {
      ok: false;
      runId: string;
      workflowName: string;
      /** The divergence, with `code: "REPLAY_DIVERGENCE"`, the seq and a message naming both sides. */
      error: ReplayDivergenceError;
      seq: number;
    };

const TERMINAL = new Set(["run_completed", "run_failed", "run_cancelled"]);

export async function replayAgainst(
  script: Script,
  subject: ReplaySubject,
  opts: { timeLimitMs?: number } = {},
): Promise<ReplayReport> {
  const { runId, workflowName } = subject;
  // A debounced run started with the arguments its run_started recorded (flow control).
  const events = withStartInput(subject.events, undefined);
  const base = { runId, workflowName };
  let instance: WorkflowInstance | undefined;
  try {
    instance = new WorkflowInstance({ runId, workflowName, script, timeLimitMs: opts.timeLimitMs });
    instance.replaying = true;
    instance.preload(events);
    let terminal: AppliedEvent | undefined;
    for (const event of events) {
      if (TERMINAL.has(event.type)) {
        terminal = event;
        break;
      }
      await instance.apply(event);
    }
    const next = instance.unlogged().filter((op) => op.kind !== "dispose");
    // A log that ends the run where the code would go on (or the reverse) diverges at the end.
    if (terminal && terminal.type !== "run_cancelled") {
      const seq = terminal.seq ?? events.length;
      if (!instance.outcome && next.length > 0) {
        throw new ReplayDivergenceError(
          `The workflow code called ${describe(next[0]!)} where the log records the run's end (${terminal.type}) at seq ${seq}.`,
          seq,
        );
      }
      const codeEnd = instance.outcome ? (instance.outcome.ok ? "run_completed" : "run_failed") : undefined;
      if (codeEnd && codeEnd !== terminal.type) {
        throw new ReplayDivergenceError(
          `The workflow code ${codeEnd === "run_completed" ? "returned" : "threw"} where the log records ${terminal.type} at seq ${seq}.`,
          seq,
        );
      }
    }
    return {
      ok: true,
      ...base,
      eventsReplayed: events.length,
      next: next.map((op) => ({ correlationId: op.cid, kind: op.kind, name: op.name })),
      ...(instance.outcome ? { outcome: instance.outcome.ok ? "completed" : "failed" } : {}),
    };
  } catch (error) {
    if (error instanceof ReplayDivergenceError) return { ok: false, ...base, error, seq: error.seq };
    throw error;
  }
}

function describe(op: Operation): string {
  return op.kind === "step" ? `step "${op.name}" (${op.cid})` : `${op.kind} (${op.cid})`;
}
