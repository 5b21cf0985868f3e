/**
 * Operator operations on a run's history, as pure functions of its log: which events a retry takes back, and
 * which events a fork copies into a new run. The engine appends what these return (retry.ts, fork in
 * engine.ts); replays honour it (`WorkflowInstance.preload` skips rescinded events).
 */
import type { EventDataMap, NewEvent, WorkflowEvent } from "@wfkit/world";
import { newHookToken } from "./hook-token.js";

const CREATES = new Set(["step_created", "wait_created", "hook_created"]);

/** Seqs that earlier retries took back: a log is read as if they were not there. */
export function rescindedSeqs(events: readonly Pick<WorkflowEvent, "type" | "data">[]): Set<number> {
  const out = new Set<number>();
  for (const e of events) {
    if (e.type === "run_retried" && e.data) {
      for (const seq of (e.data as EventDataMap["run_retried"]).rescinds) out.add(seq);
    }
  }
  return out;
}

/** The log without rescinded events, in order. */
export function effectiveEvents(events: readonly WorkflowEvent[]): WorkflowEvent[] {
  const rescinded = rescindedSeqs(events);
  return rescinded.size === 0 ? [...events] : events.filter((e) => !rescinded.has(e.seq));
}

/**
 * What `run_retried` records for a failed run: the `run_failed`, and every step failure the code did not get
 * past. A failure after which the code created no further step, sleep or hook is one it reacted to only by
 * failing; re-driving it keeps the replay on the same path. A failure the code caught and went on from is kept:
 * re-driving it would send the code down another path than its log (REPLAY_DIVERGENCE). Hooks that were live
 * when the run failed become live again.
 */
export function retryPlan(events: readonly WorkflowEvent[]): EventDataMap["run_retried"] {
  const log = effectiveEvents(events);
  const last = log.at(-1);
  if (last?.type !== "run_failed") {
    throw new Error(
      `The log of this run does not end with run_failed (it ends with ${last?.type ?? "nothing"}).`,
    );
  }
  const rescinds = [last.seq];
  const steps: string[] = [];
  let createdAfter = false;
  for (let i = log.length - 2; i >= 0; i--) {
    const e = log[i]!;
    if (CREATES.has(e.type)) createdAfter = true;
    else if (e.type === "step_failed" && !createdAfter) {
      rescinds.unshift(e.seq);
      steps.unshift(e.correlationId!);
    }
  }
  const live = new Map<string, string>();
  for (const e of log) {
    if (e.type === "hook_created" && e.correlationId && e.data) live.set(e.correlationId, e.data.token);
    else if (e.type === "hook_disposed" && e.correlationId) live.delete(e.correlationId);
  }
  return { rescinds, steps, hooks: [...live].map(([hookId, token]) => ({ hookId, token })) };
}

/** Where a fork starts: a step's correlation ID (`step_0003`) or step ID (`step//…//charge`, its first call). */
export interface ForkPoint {
  /** The step the new run executes again; everything the log recorded before its creation is reused. */
  fromStep?: string;
}

/**
 * The events a fork of `events` starts with, after its own `run_created`: the effective log up to (not
 * including) the creation of `fromStep`, without the run's end and retries. Without `fromStep`, everything but
 * the end (the fork continues where the original stopped; for a failed run, without the step failures a retry
 * would re-drive). Hooks get new tokens where the original's were
 * generated (a token is a secret of one run); chosen tokens are kept, so the original must not hold them live.
 */
export function forkPrefix(events: readonly WorkflowEvent[], point: ForkPoint = {}): NewEvent[] {
  const log = effectiveEvents(events);
  let cut = log.length;
  if (point.fromStep !== undefined) {
    cut = log.findIndex(
      (e) =>
        e.type === "step_created" &&
        (e.correlationId === point.fromStep ||
          (e.data as { stepName?: string })?.stepName === point.fromStep),
    );
    if (cut < 0) {
      const known = [...new Set(log.filter((e) => e.type === "step_created").map((e) => e.correlationId))];
      throw new Error(
        `The run has no step "${point.fromStep}". Pass a step's correlation ID or step ID; its steps are: ${known.join(", ") || "(none)"}.`,
      );
    }
  }
  // Continuing where a failed run stopped means re-driving the failures it did not survive, as a retry would.
  const dropped =
    point.fromStep === undefined && log.at(-1)?.type === "run_failed"
      ? new Set(retryPlan(events).rescinds)
      : undefined;
  const out: NewEvent[] = [];
  for (const e of log.slice(0, cut)) {
    if (dropped?.has(e.seq)) continue;
    if (e.type === "run_created" || e.type === "run_retried") continue;
    if (e.type === "run_completed" || e.type === "run_failed" || e.type === "run_cancelled") continue;
    const copy = { type: e.type, createdAt: e.createdAt } as NewEvent;
    if (e.correlationId !== undefined) copy.correlationId = e.correlationId;
    if (e.data !== undefined) (copy as { data?: unknown }).data = { ...(e.data as object) };
    if (copy.type === "hook_created" && copy.data && /^whk_/.test(copy.data.token))
      copy.data.token = newHookToken();
    out.push(copy);
  }
  return out;
}
