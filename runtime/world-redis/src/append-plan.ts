/**
 * The pure parts of an append: the arguments of the append script (the events and the rows the shared
 * materialiser computed), why a freshly read run refuses a batch, and how to recognise our own events in the log
 * after a lost answer. No I/O here, so these are unit-tested without a server.
 */
import {
  AppendConflictError,
  type ApplyEffects,
  consumedDeliveryIds,
  type HookRecord,
  isTerminalStatus,
  type Lease,
  LeaseLostError,
  type NewEvent,
  RunFinishedError,
  type RunState,
  type WorkflowEvent,
} from "@wfkit/world";
import type { ScriptArg } from "./scripts/index.js";

/** The append script's ARGV after the prefix (layout documented on APPEND in scripts/runs.ts). */
export function appendArgs(
  state: RunState,
  expectedSeq: number,
  lease: Lease | undefined,
  batch: readonly NewEvent[],
  stamped: readonly WorkflowEvent[],
  effects: ApplyEffects,
  notification: string,
): ScriptArg[] {
  const { run } = state;
  const ids = new Set<string>();
  for (const e of stamped) if (e.correlationId !== undefined) ids.add(e.correlationId);
  const steps: string[] = [];
  const waits: string[] = [];
  const hooks = new Map<string, HookRecord>();
  for (const id of ids) {
    const step = state.steps.get(id);
    if (step) steps.push(id, JSON.stringify(step));
    const wait = state.waits.get(id);
    if (wait) waits.push(id, JSON.stringify(wait));
    const hook = state.hooks.get(id);
    if (hook) hooks.set(id, hook);
  }
  // The run's end disposes hooks the batch does not name.
  for (const h of effects.hooksReleased) hooks.set(h.hookId, h);
  const hookRows = [...hooks].flatMap(([id, h]) => [id, JSON.stringify(h)]);
  const released = effects.hooksReleased.flatMap((h) => [h.token, h.hookId]);
  // Every token a hook_created names must be free (as in checkHookTokens), even when the batch disposes that
  // hook again; only hooks still live after the batch hold theirs.
  const checked = batch.flatMap((e) =>
    e.type === "hook_created" && e.data ? [e.data.token, e.correlationId ?? ""] : [],
  );
  const taken = effects.hooksCreated.filter((h) => h.status === "active").flatMap((h) => [h.token, h.hookId]);
  const consumed = consumedDeliveryIds(stamped);
  const ending = isTerminalStatus(run.status);
  return [
    run.runId,
    expectedSeq,
    lease?.owner ?? "",
    lease ? String(lease.token) : "",
    run.lastSeq,
    run.status,
    JSON.stringify(run),
    !ending && run.wakeAt !== undefined ? String(run.wakeAt) : "",
    ending ? "1" : "0",
    notification,
    stamped.length,
    ...stamped.map((e) => JSON.stringify(e)),
    steps.length / 2,
    ...steps,
    waits.length / 2,
    ...waits,
    hookRows.length / 2,
    ...hookRows,
    released.length / 2,
    ...released,
    checked.length / 2,
    ...checked,
    taken.length / 2,
    ...taken,
    consumed.length,
    ...consumed,
  ];
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

/** A run as read for an append: its rows, its lease fields and the server's clock. */
export interface LoadedRun {
  state: RunState;
  serverNow: number;
  lease: { held: boolean; owner: string | undefined; token: number; expiresAt: number };
}

/** Why an append to a freshly read run must be refused (the same order of checks as the append script's). */
export function refusal(
  runId: string,
  expectedSeq: number,
  loaded: LoadedRun,
  lease: Lease | undefined,
): Error | undefined {
  const { run } = loaded.state;
  if (lease) {
    const l = loaded.lease;
    if (!l.held || l.owner !== lease.owner || l.token !== lease.token || l.expiresAt <= loaded.serverNow) {
      return new LeaseLostError(runId, lease.owner);
    }
  }
  if (isTerminalStatus(run.status)) return new RunFinishedError(runId, run.status);
  if (run.lastSeq !== expectedSeq) return new AppendConflictError(runId, expectedSeq, run.lastSeq);
  return undefined;
}
