/**
 * The pure parts of an append: which rows a batch changed (what is sent with it). Why a freshly read run refuses a
 * batch and how to recognise our own events in the log after a broken connection are shared by the worlds that
 * append from a cached state (`@wfkit/world`'s cached-appends.ts).
 */
import {
  type HookRecord,
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
