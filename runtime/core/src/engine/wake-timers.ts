/**
 * In-process timers for durable wake-ups (sleeps, retry back-offs), one per run. The wake-up itself is
 * stored in the world; a timer only makes this process act on time while it is running.
 *
 * Timers are unref'd unless a caller in this process awaits that run's end (`retain`), so a process whose
 * runs have ended, or that only has long sleeps pending, can exit by itself; the next process picks the
 * wake-ups up with `resumePendingRuns()`.
 */

import { type ClockTimer, currentClock } from "./clock.js";

interface Armed {
  at: number;
  timer: ClockTimer;
}

export class WakeTimers {
  private readonly armed = new Map<string, Armed>();
  private readonly awaited = new Map<string, number>();
  private closed = false;

  /** Timers are armed on the process's clock (`clock.ts`: the wall clock unless a test installed a virtual one). */
  constructor(private readonly fire: (runId: string) => void) {}

  /** Arms the run's timer for `at` (epoch ms), replacing an earlier one; `undefined` clears it. */
  set(runId: string, at: number | undefined): void {
    const existing = this.armed.get(runId);
    if (existing && existing.at === at) return;
    if (existing) existing.timer.cancel();
    if (at === undefined || this.closed) {
      this.armed.delete(runId);
      return;
    }
    const timer = currentClock().at(at, () => {
      if (this.armed.get(runId)?.timer !== timer) return;
      this.armed.delete(runId);
      this.fire(runId);
    });
    if (!this.awaited.has(runId)) timer.unref();
    this.armed.set(runId, { at, timer });
  }

  /** A one-off timer for the run (a retry after a failed write), with the same keep-alive rule. */
  after(runId: string, ms: number, fn: () => void): void {
    if (this.closed) return;
    const timer = setTimeout(fn, ms);
    if (!this.awaited.has(runId)) timer.unref();
  }

  /** The time the run's timer is armed for, if any. */
  armedAt(runId: string): number | undefined {
    return this.armed.get(runId)?.at;
  }

  /** Someone in this process awaits the run's end: keep the process alive for its timer. Returns a release. */
  retain(runId: string): () => void {
    this.awaited.set(runId, (this.awaited.get(runId) ?? 0) + 1);
    this.armed.get(runId)?.timer.ref();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const n = (this.awaited.get(runId) ?? 1) - 1;
      if (n > 0) this.awaited.set(runId, n);
      else {
        this.awaited.delete(runId);
        this.armed.get(runId)?.timer.unref();
      }
    };
  }

  /** Whether an armed timer keeps the process alive (for tests). */
  holdsProcess(runId: string): boolean {
    return this.armed.get(runId)?.timer.hasRef() ?? false;
  }

  close(): void {
    this.closed = true;
    for (const { timer } of this.armed.values()) timer.cancel();
    this.armed.clear();
  }
}
