/**
 * Subscriber bookkeeping shared by worlds. A listener that throws must never break the append that
 * triggered it (the write is already committed), so each call is isolated and its error reported.
 */
import type { RunNotification } from "./types.js";

type Listener = (n: RunNotification) => void;

export class Notifier {
  private readonly all = new Set<Listener>();
  private readonly byRun = new Map<string, Set<Listener>>();

  constructor(
    private readonly onListenerError: (error: unknown, n: RunNotification) => void = reportListenerError,
  ) {}

  subscribe(listener: Listener, runId?: string): () => void {
    // Wrap so the same function subscribed twice gets two independent subscriptions.
    const entry: Listener = (n) => listener(n);
    if (runId === undefined) {
      this.all.add(entry);
      return () => void this.all.delete(entry);
    }
    const set = this.byRun.get(runId) ?? new Set<Listener>();
    this.byRun.set(runId, set);
    set.add(entry);
    return () => {
      set.delete(entry);
      if (set.size === 0 && this.byRun.get(runId) === set) this.byRun.delete(runId);
    };
  }

  get size(): number {
    return this.all.size + this.byRun.size;
  }

  notify(n: RunNotification): void {
    const run = this.byRun.get(n.runId);
    if (this.all.size === 0 && !run) return;
    for (const l of [...this.all, ...(run ?? [])]) {
      try {
        l(n);
      } catch (error) {
        this.onListenerError(error, n);
      }
    }
  }

  clear(): void {
    this.all.clear();
    this.byRun.clear();
  }
}

function reportListenerError(error: unknown, n: RunNotification): void {
  console.error(
    `[wfkit/world] a subscribe() listener threw on "${n.kind}" of run ${n.runId}; the write stood.`,
    error,
  );
}
