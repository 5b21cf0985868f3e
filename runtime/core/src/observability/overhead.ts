/**
 * Where a run's time went, from the timestamps of its event log (`wf inspect run`): how long until the first
 * step started, how long the engine took between one step's end and the next step's start, and how much of the
 * run was spent neither in a step body nor waiting (sleeps, retry back-offs).
 *
 * Limits: the log records when the engine decided each event (`createdAt`), not when a body really started after
 * its `step_started` was made durable, so the commit before a body is not in `stepGapMs`; and a run retried by an
 * operator counts the time it spent failed as time outside steps.
 */
import type { WorkflowEvent } from "@wfkit/world";

export interface RunOverhead {
  /** From `run_created` to the run's end (or to `now` while it runs). */
  totalMs: number;
  /** `run_created` → the first `step_started`; undefined before any step started. */
  timeToFirstStepMs?: number;
  /**
   * Sequential hand-offs: for each step that started while no other step was running, the time since the last
   * step attempt ended. Parallel steps started in one batch count once.
   */
  stepGapMs: { count: number; meanMs?: number; p50Ms?: number; maxMs?: number };
  /** Time during which at least one step body was running. */
  insideStepsMs: number;
  /** `totalMs - insideStepsMs`: the run's time outside step bodies. */
  outsideStepsMs: number;
  /** The part of `outsideStepsMs` spent waiting on sleeps and retry back-offs. */
  waitingMs: number;
  /**
   * The rest of `outsideStepsMs`: the engine's own time (appends, replays, workflow code, queueing) plus waiting
   * for hook payloads, which the log cannot tell apart.
   */
  engineMs: number;
  /** Step attempts counted. */
  stepAttempts: number;
}

type Interval = [number, number];

/** Total length of the union of intervals. */
function unionLength(intervals: Interval[]): number {
  const sorted = intervals.filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
  let total = 0;
  let start = Number.NEGATIVE_INFINITY;
  let end = Number.NEGATIVE_INFINITY;
  for (const [a, b] of sorted) {
    if (a > end) {
      if (end > start) total += end - start;
      start = a;
      end = b;
    } else if (b > end) end = b;
  }
  if (end > start) total += end - start;
  return total;
}

const ENDS_ATTEMPT = new Set(["step_completed", "step_failed", "step_retrying"]);
const ENDS_RUN = new Set(["run_completed", "run_failed", "run_cancelled"]);

export function runOverhead(events: readonly WorkflowEvent[], now: number = Date.now()): RunOverhead {
  const created = events.find((e) => e.type === "run_created")?.createdAt ?? events[0]?.createdAt ?? now;
  let end: number | undefined;
  let firstStep: number | undefined;
  const running = new Map<string, number>();
  const steps: Interval[] = [];
  const waits: Interval[] = [];
  const openWaits = new Map<string, number>();
  const gaps: number[] = [];
  let lastAttemptEnd: number | undefined;
  for (const e of events) {
    const t = e.createdAt;
    const cid = e.correlationId ?? "";
    if (e.type === "step_started") {
      firstStep ??= t;
      if (running.size === 0 && lastAttemptEnd !== undefined && openWaits.size === 0) {
        gaps.push(Math.max(0, t - lastAttemptEnd));
      }
      running.set(cid, t);
    } else if (ENDS_ATTEMPT.has(e.type)) {
      const started = running.get(cid);
      if (started !== undefined) {
        steps.push([started, t]);
        running.delete(cid);
      }
      lastAttemptEnd = t;
      // A back-off lasts until the next attempt starts.
      if (e.type === "step_retrying") openWaits.set(`retry:${cid}`, t);
    } else if (e.type === "wait_created") {
      openWaits.set(cid, t);
    } else if (e.type === "wait_completed") {
      const since = openWaits.get(cid);
      if (since !== undefined) waits.push([since, t]);
      openWaits.delete(cid);
      lastAttemptEnd = t;
    } else if (ENDS_RUN.has(e.type)) {
      end = t;
    } else if (e.type === "run_retried") {
      end = undefined;
    }
    if (e.type === "step_started" && openWaits.has(`retry:${cid}`)) {
      waits.push([openWaits.get(`retry:${cid}`)!, t]);
      openWaits.delete(`retry:${cid}`);
    }
  }
  const stop = end ?? now;
  for (const started of running.values()) steps.push([started, stop]);
  for (const since of openWaits.values()) waits.push([since, stop]);
  const totalMs = Math.max(0, stop - created);
  const insideStepsMs = unionLength(steps);
  const busyOrWaiting = unionLength([...steps, ...waits]);
  const sortedGaps = [...gaps].sort((a, b) => a - b);
  return {
    totalMs,
    ...(firstStep === undefined ? {} : { timeToFirstStepMs: firstStep - created }),
    stepGapMs:
      gaps.length === 0
        ? { count: 0 }
        : {
            count: gaps.length,
            meanMs: gaps.reduce((a, b) => a + b, 0) / gaps.length,
            p50Ms: sortedGaps[Math.floor((sortedGaps.length - 1) / 2)],
            maxMs: sortedGaps.at(-1),
          },
    insideStepsMs,
    outsideStepsMs: Math.max(0, totalMs - insideStepsMs),
    waitingMs: busyOrWaiting - insideStepsMs,
    engineMs: Math.max(0, totalMs - busyOrWaiting),
    stepAttempts: events.filter((e) => e.type === "step_started").length,
  };
}
