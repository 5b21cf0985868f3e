/**
 * The pure parts of an append: which rows a batch changed (what is sent with it), why a freshly read run
 * refuses it, and how to recognise our own events in the log after a broken connection.
 */
import {
  AppendConflictError,
  checkAppendable,
  type HookRecord,
  type Lease,
  LeaseLostError,
  type NewEvent,
  type RunState,
  type RunStatus,
  type StepRecord,
  touchedIds,
  type WaitRecord,
  type WorkflowEvent,
} from "@wfkit/world";
import { hookToRow, runToRow, stepToRow, waitToRow } from "./rows.js";

/** The answer of the `append_events` function. */
export interface AppendOutcome {
  code: string;
  actual_seq: number | null;
  run_status: RunStatus | null;
}

/** The answer of `create_run`; the lease columns only from its leased form, and only when it answered. */
export interface CreateOutcome {
  created: boolean;
  lease_token?: string | null;
  lease_expires_at?: string | null;
}

export function sameEvent(a: WorkflowEvent, b: WorkflowEvent): boolean {
  return (
    a.seq === b.seq &&
    a.type === b.type &&
    a.correlationId === b.correlationId &&
    a.createdAt === b.createdAt &&
    JSON.stringify(a.data) === JSON.stringify(b.data)
  );
}

export interface LoadedRun {
  state: RunState;
  dbNow: number;
  lease: { held: boolean; owner: string | null; token: number; expiresAt: number };
}

/** Why an append to a freshly read run must be refused (the same order of checks as the database's). */
export function refusal(
  runId: string,
  expectedSeq: number,
  loaded: LoadedRun,
  lease: Lease | undefined,
  events: readonly NewEvent[],
): Error | undefined {
  const { run } = loaded.state;
  if (lease) {
    const l = loaded.lease;
    if (!l.held || l.owner !== lease.owner || l.token !== lease.token || l.expiresAt <= loaded.dbNow) {
      return new LeaseLostError(runId, lease.owner);
    }
  }
  try {
    checkAppendable(runId, run.status, events);
  } catch (error) {
    return error as Error;
  }
  if (run.lastSeq !== expectedSeq) return new AppendConflictError(runId, expectedSeq, run.lastSeq);
  return undefined;
}

/**
 * The rows an applied batch changed: the run row, the steps, waits and hooks its events name (a retry names them
 * in its data), and the
 * hooks the run's end released. Hooks are ordered released-first so that, when one batch frees a token
 * and takes it again, the unique index sees the release before the take.
 */
export function touchedRows(
  state: RunState,
  events: readonly WorkflowEvent[],
  released: readonly HookRecord[],
): Record<string, unknown> {
  const ids = touchedIds(events);
  const steps: StepRecord[] = [];
  const waits: WaitRecord[] = [];
  const hooks = new Map<string, HookRecord>();
  for (const id of ids) {
    const step = state.steps.get(id);
    if (step) steps.push(step);
    const wait = state.waits.get(id);
    if (wait) waits.push(wait);
    const hook = state.hooks.get(id);
    if (hook) hooks.set(id, hook);
  }
  for (const h of released) hooks.set(h.hookId, h);
  const rows: Record<string, unknown> = { run: runToRow(state.run) };
  if (steps.length) rows.steps = steps.map(stepToRow);
  if (waits.length) rows.waits = waits.map(waitToRow);
  if (hooks.size) {
    rows.hooks = [...hooks.values()]
      .sort((a, b) => (a.status === b.status ? 0 : a.status === "disposed" ? -1 : 1))
      .map(hookToRow);
  }
  return rows;
}
