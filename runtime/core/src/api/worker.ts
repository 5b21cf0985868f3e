/**
 * A dedicated worker: executes runs that any process starts, on a world shared between processes (Postgres,
 * or the local world's directory). It drives runs as they are created or change (the world's
 * notifications), takes over runs whose executor died once their lease expires, and sweeps on an interval
 * as a safety net for missed notifications. Its interval keeps the process alive until `stop()`.
 */
import type { World } from "@wfkit/world";
import type { CodeProvider } from "../engine/code-provider.js";
import type { Engine } from "../engine/engine.js";
import { configureRuntime, getEngine } from "./runtime-config.js";

export interface WorkerOptions {
  world?: World;
  codeProvider?: CodeProvider;
  /** How often to look for runs that no notification announced (default 2,000 ms). */
  sweepIntervalMs?: number;
}

export interface Worker {
  readonly engine: Engine;
  /** Stops picking up runs; runs in flight keep their leases until they expire. */
  stop(): void;
}

export async function startWorker(opts: WorkerOptions = {}): Promise<Worker> {
  const { sweepIntervalMs = 2_000, ...config } = opts;
  if (!(sweepIntervalMs > 0)) {
    throw new TypeError(
      `startWorker: sweepIntervalMs must be a positive number of ms, got ${sweepIntervalMs}`,
    );
  }
  if (config.world || config.codeProvider) configureRuntime(config);
  const engine = getEngine();
  const stopListening = engine.listen();
  let sweeping = false;
  const sweep = async () => {
    if (sweeping) return;
    sweeping = true;
    try {
      // Each unfinished run not held here is tried: the lease decides who drives it.
      await engine.resumePendingRuns();
    } catch (error) {
      console.error("[workflow] worker sweep failed:", error);
    } finally {
      sweeping = false;
    }
  };
  await sweep();
  const timer = setInterval(() => void sweep(), sweepIntervalMs);
  return {
    engine,
    stop() {
      clearInterval(timer);
      stopListening();
    },
  };
}
