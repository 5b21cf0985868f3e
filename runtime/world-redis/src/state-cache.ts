/**
 * The materialised state of recently written runs, so that an append needs no read before its write: the batch
 * is applied to the cached state with the shared materialiser, and the append script refuses it unless the log
 * still ends where the cached state does (`expectedSeq`). Rows are a pure function of the log and only one
 * append can succeed at each seq, so a cached state at seq n is exactly the stored one whenever that check
 * passes. A state that fell behind (another process appended) is caught up from the events it missed.
 *
 * The same idea as `@wfkit/world-postgres`'s cache; kept here because the two worlds load state differently.
 */
import {
  canAppend,
  type HookRecord,
  isTerminalStatus,
  type RunRecord,
  type RunState,
  type RunStatus,
  type StepRecord,
  type WaitRecord,
} from "@wfkit/world";
import { TrackedMap } from "./tracked-rows.js";

/** Rebuilds a run's state from its stored rows (the inverse of writing them). */
export function stateFromRows(
  run: RunRecord,
  steps: StepRecord[],
  waits: WaitRecord[],
  hooks: HookRecord[],
): RunState {
  const state: RunState = {
    run,
    steps: new TrackedMap(steps.map((s) => [s.stepId, s])),
    waits: new TrackedMap(waits.map((w) => [w.waitId, w])),
    hooks: new TrackedMap(hooks.map((h) => [h.hookId, h])),
    wakeups: new Map(),
  };
  // Pending wake-ups are exactly the waiting waits and retrying steps of an unfinished run (materialize.ts).
  if (!isTerminalStatus(run.status)) {
    for (const w of waits) if (w.status === "waiting") state.wakeups.set(w.waitId, w.resumeAt);
    for (const s of steps) {
      if (s.status === "retrying" && s.retryAt !== undefined) state.wakeups.set(s.stepId, s.retryAt);
    }
  }
  return state;
}

/**
 * Least-recently-used run states. A finished run's state is dropped, and the record of a run that can never change
 * again (no batch is appendable to it: completed, cancelled; a failed run can still be retried) is kept in a
 * second, equally bounded map, so `getRun` of a run this process just finished (what every `returnValue` asks)
 * needs no round trip.
 */
export class RunStateCache {
  private readonly states = new Map<string, RunState>();
  private readonly finishedRuns = new Map<string, RunRecord>();

  constructor(private readonly capacity: number) {}

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
      if (isFinal(state.run.status)) {
        this.finishedRuns.set(runId, { ...state.run });
        evictOldest(this.finishedRuns, this.capacity);
      }
      return;
    }
    this.states.set(runId, state);
    evictOldest(this.states, this.capacity);
  }

  delete(runId: string): void {
    this.states.delete(runId);
  }

  clear(): void {
    this.states.clear();
    this.finishedRuns.clear();
  }
}

/** Nothing can ever be appended to a run in this status (decided by the shared rule, `canAppend`). */
function isFinal(status: RunStatus): boolean {
  return !canAppend(status, [{ type: "run_retried" }]) && !canAppend(status, [{ type: "run_started" }]);
}

function evictOldest(map: Map<string, unknown>, capacity: number): void {
  if (map.size <= capacity) return;
  const oldest = map.keys().next().value;
  if (oldest !== undefined) map.delete(oldest);
}
