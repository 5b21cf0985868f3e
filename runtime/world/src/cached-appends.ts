/**
 * What a world that stores runs as rows needs to append without reading first (Postgres, Redis, SQLite): the
 * materialised state of recently written runs, kept in memory, to which a batch is applied with the shared
 * materialiser before its rows are written together with its events. The store checks the log's head when it
 * writes; since rows are a pure function of the log and only one append can succeed at each seq, a cached state
 * at seq n is exactly the stored one whenever that check passes. A state that fell behind (another process
 * appended) is caught up from the events it missed; one that is missing is rebuilt from the run's rows.
 *
 * Also here, for appends whose answer was lost with their connection: how to tell from the log whether the
 * append was stored, and why a batch cannot be appended to a freshly read run.
 */
import { AppendConflictError, LeaseLostError } from "./errors.js";
import { applyEvents, checkAppendable, isTerminalStatus, type RunState } from "./materialize.js";
import type {
  HookRecord,
  Lease,
  NewEvent,
  RunRecord,
  StepRecord,
  WaitRecord,
  WorkflowEvent,
  World,
} from "./types.js";

/** Rebuilds a run's state from its stored rows (the inverse of writing them). */
export function stateFromRows(
  run: RunRecord,
  steps: StepRecord[],
  waits: WaitRecord[],
  hooks: HookRecord[],
): RunState {
  const state: RunState = {
    run,
    steps: new Map(steps.map((s) => [s.stepId, s])),
    waits: new Map(waits.map((w) => [w.waitId, w])),
    hooks: new Map(hooks.map((h) => [h.hookId, h])),
    wakeups: new Map(),
  };
  // Pending wake-ups are exactly the waiting waits and retrying steps of an unfinished run (see materialize.ts),
  // so they need no storage of their own.
  if (!isTerminalStatus(run.status)) {
    for (const w of waits) if (w.status === "waiting") state.wakeups.set(w.waitId, w.resumeAt);
    for (const s of steps) {
      if (s.status === "retrying" && s.retryAt !== undefined) state.wakeups.set(s.stepId, s.retryAt);
    }
  }
  return state;
}

/**
 * Least-recently-used run states, at most `capacity` of them. A finished run's state is dropped (nothing can
 * follow), but the record of a run that can never change again (completed or cancelled; a failed run can still
 * be retried) is kept in a second, equally bounded map: `getRun` of a run this process just finished (what
 * every `returnValue` asks) then needs no round trip.
 */
export class RunStateCache {
  private readonly states = new Map<string, RunState>();
  private readonly finishedRuns = new Map<string, RunRecord>();

  constructor(private readonly capacity: number) {}

  /** The record of a run this process saw finish, if still remembered. */
  finished(runId: string): RunRecord | undefined {
    return this.finishedRuns.get(runId);
  }

  get(runId: string): RunState | undefined {
    const state = this.states.get(runId);
    if (state) {
      this.states.delete(runId);
      this.states.set(runId, state);
    }
    return state;
  }

  set(state: RunState): void {
    const { runId } = state.run;
    this.states.delete(runId);
    if (this.capacity <= 0) return;
    if (isTerminalStatus(state.run.status)) {
      if (state.run.status === "failed") return;
      this.finishedRuns.set(runId, { ...state.run });
      evictOldest(this.finishedRuns, this.capacity);
      return;
    }
    this.states.set(runId, state);
    evictOldest(this.states, this.capacity);
  }

  delete(runId: string): void {
    this.states.delete(runId);
  }

  get size(): number {
    return this.states.size;
  }

  clear(): void {
    this.states.clear();
    this.finishedRuns.clear();
  }

  /**
   * Brings a cached state up to the stored head by applying the events it has not seen (their cost does not grow
   * with the run's length), read with `readAfter`. Undefined, with the entry dropped, when what was read does not
   * follow on densely: the caller then reloads the run.
   */
  async catchUp(
    state: RunState,
    readAfter: (runId: string, afterSeq: number) => Promise<WorkflowEvent[]>,
  ): Promise<RunState | undefined> {
    const { runId, lastSeq } = state.run;
    this.delete(runId);
    const missed = await readAfter(runId, lastSeq);
    if (missed.some((e, i) => e.seq !== lastSeq + 1 + i)) return undefined;
    applyEvents(state, missed);
    this.set(state);
    return state;
  }
}

function evictOldest(map: Map<string, unknown>, capacity: number): void {
  if (map.size <= capacity) return;
  const oldest = map.keys().next().value;
  if (oldest !== undefined) map.delete(oldest);
}

/** The same stored event: what an append wrote, as read back from the log. */
export function sameEvent(a: WorkflowEvent, b: WorkflowEvent): boolean {
  return (
    a.seq === b.seq &&
    a.type === b.type &&
    a.correlationId === b.correlationId &&
    a.createdAt === b.createdAt &&
    JSON.stringify(a.data) === JSON.stringify(b.data)
  );
}

/** What the log says of an append whose answer was lost. */
export type LostAppend = { kind: "absent" } | { kind: "stored" } | { kind: "conflict"; actualSeq: number };

/**
 * Our exact events after `expectedSeq` mean the append was stored; nothing after it means it was not (its
 * connection died before it ran), and it may be sent again; anything else means another writer came first. A
 * blind resend would be refused by the head check anyway, but the caller would then see a conflict for its own
 * append.
 */
export async function lostAppend(
  world: Pick<World, "readEvents" | "getRun">,
  runId: string,
  expectedSeq: number,
  stamped: readonly WorkflowEvent[],
): Promise<LostAppend> {
  const stored = await world.readEvents(runId, { afterSeq: expectedSeq, limit: stamped.length });
  if (stored.length === 0) return { kind: "absent" };
  if (stored.length === stamped.length && stored.every((e, i) => sameEvent(e, stamped[i]!))) {
    return { kind: "stored" };
  }
  const run = await world.getRun(runId);
  return { kind: "conflict", actualSeq: run?.lastSeq ?? expectedSeq + 1 };
}

/** A run as read for an append: its rows, its lease fields and the store's clock (one snapshot). */
export interface LoadedRun {
  state: RunState;
  /** The store's clock when it was read, in ms: leases expire by it. */
  serverNow: number;
  lease: { held: boolean; owner: string | null | undefined; token: number; expiresAt: number };
}

/**
 * Why a batch cannot be appended to a freshly read run, in the order the memory world checks: the lease, whether
 * the run accepts the batch at all (`checkAppendable`: nothing after the end but a retry of a failed run), the head.
 */
export function refusal(
  runId: string,
  expectedSeq: number,
  loaded: LoadedRun,
  lease: Lease | undefined,
  batch: readonly NewEvent[],
): Error | undefined {
  const { run } = loaded.state;
  if (lease) {
    const l = loaded.lease;
    if (!l.held || l.owner !== lease.owner || l.token !== lease.token || l.expiresAt <= loaded.serverNow) {
      return new LeaseLostError(runId, lease.owner);
    }
  }
  try {
    checkAppendable(runId, run.status, batch);
  } catch (error) {
    return error as Error;
  }
  if (run.lastSeq !== expectedSeq) return new AppendConflictError(runId, expectedSeq, run.lastSeq);
  return undefined;
}
