/**
 * A run's timeline: what the dashboard draws on its time axis. Built from the event log (not the rows), because the
 * rows keep only a step's latest attempt while the log holds every attempt, each retry back-off, each sleep and
 * each hook payload with its time.
 */
import type { WorkflowEvent } from "@wfkit/core";

export interface TimelineAttempt {
  attempt: number;
  start: number;
  end?: number;
  /** `running` while no outcome is recorded. */
  outcome: "running" | "completed" | "failed" | "retrying";
  /** When the next attempt is due (a `retrying` outcome). */
  retryAt?: number;
}

export interface TimelineItem {
  /** Correlation ID: `step_0003`, a sleep's or a hook's ID. */
  id: string;
  kind: "step" | "sleep" | "hook";
  /** The step function's ID; for a sleep its wake-up time; for a hook its token. */
  name: string;
  status: "pending" | "running" | "retrying" | "completed" | "failed" | "waiting" | "received" | "disposed";
  start: number;
  end?: number;
  attempts?: TimelineAttempt[];
  /** Sleeps: the durable wake-up. */
  resumeAt?: number;
  /** Hooks: the times payloads arrived. */
  received?: number[];
}

export interface Timeline {
  /** The axis: from the run's creation to its end (or the newest event). */
  start: number;
  end: number;
  items: TimelineItem[];
}

export function buildTimeline(events: readonly WorkflowEvent[]): Timeline {
  const items = new Map<string, TimelineItem>();
  let start = events[0]?.createdAt ?? 0;
  let end = start;
  const rescinded = new Set<number>();
  for (const event of events) {
    if (event.type === "run_retried") for (const seq of event.data?.rescinds ?? []) rescinded.add(seq);
  }
  for (const event of events) {
    end = Math.max(end, event.createdAt);
    if (event.type === "run_created") start = event.createdAt;
    const id = event.correlationId;
    if (id === undefined) continue;
    const at = event.createdAt;
    const item = items.get(id);
    switch (event.type) {
      case "step_created":
        items.set(id, {
          id,
          kind: "step",
          name: event.data?.stepName ?? id,
          status: "pending",
          start: at,
          attempts: [],
        });
        break;
      case "step_started": {
        if (!item?.attempts) break;
        item.attempts.push({
          attempt: event.data?.attempt ?? item.attempts.length + 1,
          start: at,
          outcome: "running",
        });
        item.status = "running";
        item.end = undefined;
        break;
      }
      case "step_retrying":
      case "step_completed":
      case "step_failed": {
        if (!item?.attempts) break;
        const attempt = item.attempts.at(-1);
        const outcome =
          event.type === "step_retrying"
            ? "retrying"
            : event.type === "step_completed"
              ? "completed"
              : "failed";
        if (attempt && attempt.end === undefined) {
          attempt.end = at;
          attempt.outcome = outcome;
          if (event.type === "step_retrying") attempt.retryAt = event.data?.retryAt;
        }
        // A failure an operator's retry took back is history, not the step's state.
        if (rescinded.has(event.seq)) break;
        item.status = outcome;
        if (outcome !== "retrying") item.end = at;
        break;
      }
      case "wait_created":
        items.set(id, {
          id,
          kind: "sleep",
          name: new Date(event.data?.resumeAt ?? at).toISOString(),
          status: "waiting",
          start: at,
          ...(event.data?.resumeAt === undefined ? {} : { resumeAt: event.data.resumeAt }),
        });
        break;
      case "wait_completed":
        if (item) {
          item.status = "completed";
          item.end = at;
        }
        break;
      case "hook_created":
        items.set(id, {
          id,
          kind: "hook",
          name: event.data?.token ?? id,
          status: "waiting",
          start: at,
          received: [],
        });
        break;
      case "hook_received":
        if (item) {
          item.received = [...(item.received ?? []), at];
          item.status = "received";
        }
        break;
      case "hook_disposed":
        if (item) {
          item.status = "disposed";
          item.end = at;
        }
        break;
    }
  }
  return { start, end, items: [...items.values()] };
}
