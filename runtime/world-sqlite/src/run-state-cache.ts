/**
 * The materialised state of recently written runs, so that an append costs the same at step 1,000 as at step 1:
 * the batch is applied to the cached state with the shared materialiser and only the rows it touched are written.
 * The append checks the stored head inside its write transaction; a state that is behind (another process
 * appended) is caught up from the events it missed, and one that is missing is rebuilt from the run's log.
 * Least recently used runs are evicted past `capacity`; finished runs are dropped (nothing can follow).
 */
import { isTerminalStatus, type RunState } from "@wfkit/world";

export class RunStateCache {
  private readonly map = new Map<string, RunState>();

  constructor(private readonly capacity: number) {}

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
    if (this.capacity <= 0 || isTerminalStatus(state.run.status)) return;
    this.map.set(runId, state);
    if (this.map.size > this.capacity) {
      const oldest = this.map.keys().next().value;
      if (oldest !== undefined) this.map.delete(oldest);
    }
  }

  delete(runId: string): void {
    this.map.delete(runId);
  }

  get size(): number {
    return this.map.size;
  }

  clear(): void {
    this.map.clear();
  }
}
