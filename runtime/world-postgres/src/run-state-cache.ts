/**
 * The materialised state of recently written runs, kept so an append needs no read before its write:
 * the batch is applied to the cached state with the shared materialiser and the resulting rows are sent
 * with the events in one call. The database checks `lastSeq` under the run's row lock, and rows are a
 * pure function of the log, so a cached state at seq n is exactly the stored state whenever that check
 * passes; when it fails, the entry is dropped and the next append reloads it.
 */
import {
  type HookRecord,
  isTerminalStatus,
  type RunRecord,
  type RunState,
  type StepRecord,
  type WaitRecord,
} from "@wfkit/world";

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
  // Pending wake-ups are exactly the waiting waits and retrying steps of an unfinished run (see
  // materialize.ts), so they need no storage of their own.
  if (!isTerminalStatus(run.status)) {
    for (const w of waits) if (w.status === "waiting") state.wakeups.set(w.waitId, w.resumeAt);
    for (const s of steps) {
      if (s.status === "retrying" && s.retryAt !== undefined) state.wakeups.set(s.stepId, s.retryAt);
    }
  }
  return state;
}

/**
 * Least-recently-used map of run states. A finished run's state is dropped (nothing can follow), but its
 * record is kept in a second, equally bounded map: it can never change again, so `getRun` of a run this
 * process just finished (what every `returnValue` asks) needs no round trip.
 */
export class RunStateCache {
  private readonly map = new Map<string, RunState>();
  private readonly finishedRuns = new Map<string, RunRecord>();

  constructor(private readonly capacity: number) {}

  /** The record of a run this process saw finish, if still remembered. */
  finished(runId: string): RunRecord | undefined {
    return this.finishedRuns.get(runId);
  }

  get(runId: string): RunState | undefined {
    const state = this.map.get(runId);
    if (state) {
      this.map.delete(runId);
      this.map.set(runId, state);
    }
    return state;
  }

  set(state: RunState): void {
    const { runId } = state.run;
    this.map.delete(runId);
    if (this.capacity <= 0) return;
    if (isTerminalStatus(state.run.status)) {
      // A failed run may still be retried (run_retried), so only completed and cancelled records are final.
      if (state.run.status === "failed") return;
      this.finishedRuns.set(runId, { ...state.run });
      evictOldest(this.finishedRuns, this.capacity);
      return;
    }
    this.map.set(runId, state);
    evictOldest(this.map, this.capacity);
  }

  delete(runId: string): void {
    this.map.delete(runId);
  }

  get size(): number {
    return this.map.size;
  }

  clear(): void {
    this.map.clear();
    this.finishedRuns.clear();
  }
}

function evictOldest(map: Map<string, unknown>, capacity: number): void {
  if (map.size <= capacity) return;
  const oldest = map.keys().next().value;
  if (oldest !== undefined) map.delete(oldest);
}
