/**
 * Progress lines that steps publish and the server streams to the page as server-sent events.
 *
 * Process-local and not durable: it works because on the local world steps run inline in the server
 * process. It lives on a global symbol because in dev the steps run from the step bundle while the API runs
 * in Vite's module graph, each with its own copy of this module. To be replaced by `getWritable()` in steps
 * and `run.getReadable()` here once durable streams land.
 */
import { EventEmitter } from "node:events";

export interface ProgressEvent {
  step: string;
  message: string;
  at: number;
}

interface Bus {
  emitter: EventEmitter;
  /** Lines so far per run, so a page that subscribes after the first steps still sees them. */
  history: Map<string, ProgressEvent[]>;
}

const KEY = Symbol.for("vite-app.progress");
const RUNS_KEPT = 100;
const registry = globalThis as Record<symbol, Bus | undefined>;
registry[KEY] ??= { emitter: new EventEmitter().setMaxListeners(0), history: new Map() };
const bus: Bus = registry[KEY];

export function publish(runId: string, step: string, message: string): void {
  const event: ProgressEvent = { step, message, at: Date.now() };
  const lines = bus.history.get(runId) ?? [];
  if (lines.length === 0) {
    bus.history.set(runId, lines);
    if (bus.history.size > RUNS_KEPT) bus.history.delete(bus.history.keys().next().value!);
  }
  lines.push(event);
  bus.emitter.emit(runId, event);
}

/** Calls `listener` with the lines so far, then with each new one. */
export function subscribe(runId: string, listener: (event: ProgressEvent) => void): () => void {
  for (const event of bus.history.get(runId) ?? []) listener(event);
  bus.emitter.on(runId, listener);
  return () => bus.emitter.off(runId, listener);
}
