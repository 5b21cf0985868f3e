/**
 * A dedicated worker: executes runs that any process starts, on a world shared between processes (Postgres,
 * or the local world's directory). It drives runs as they are created or change (the world's
 * notifications), takes over runs whose executor died once their lease expires, and sweeps on an interval
 * as a safety net for missed notifications. Its interval keeps the process alive until `stop()`.
 *
 * Its code comes from the process-wide runtime (the `workflow/register` hooks, a bundler plugin, or
 * `codeProvider`), or, with `build`, from a `wf build` output folder: then the worker needs neither the
 * compiler nor the module hooks, and runs exactly the code that was built.
 */

import type { World } from "@wfkit/world";
import type { CodeProvider } from "../engine/code-provider.js";
import type { Engine } from "../engine/engine.js";
import { log } from "../observability/logger.js";
import { type BuildInfo, openBuildOutput } from "./build-output.js";
import { configureRuntime, getEngine } from "./runtime-config.js";

export interface WorkerOptions {
  world?: World;
  codeProvider?: CodeProvider;
  /**
   * Run the workflows and steps of a `wf build` output folder (`.workflow` by default in `wf build`): its
   * `manifest.json` is checked at start and `workflows.js` / `steps.mjs` are the code. Not with `codeProvider`.
   */
  build?: string;
  /** How often to look for runs that no notification announced (default 2,000 ms). */
  sweepIntervalMs?: number;
}

export interface Worker {
  readonly engine: Engine;
  /** With `build`: the folder and the workflow and step IDs of its manifest. */
  readonly build?: BuildInfo;
  /** Stops picking up runs; runs in flight keep their leases until they expire. */
  stop(): void;
}

export async function startWorker(opts: WorkerOptions = {}): Promise<Worker> {
  const { sweepIntervalMs = 2_000, build, ...config } = opts;
  if (!(sweepIntervalMs > 0)) {
    throw new TypeError(
      `startWorker: sweepIntervalMs must be a positive number of ms, got ${sweepIntervalMs}`,
    );
  }
  let buildInfo: BuildInfo | undefined;
  if (build !== undefined) {
    if (config.codeProvider) {
      throw new TypeError(
        "startWorker: pass either build or codeProvider, not both (build is a code provider).",
      );
    }
    const opened = openBuildOutput(build);
    buildInfo = opened.info;
    config.codeProvider = opened.codeProvider;
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
      log.error("worker sweep failed", { error });
    } finally {
      sweeping = false;
    }
  };
  await sweep();
  const timer = setInterval(() => void sweep(), sweepIntervalMs);
  return {
    engine,
    ...(buildInfo ? { build: buildInfo } : {}),
    stop() {
      clearInterval(timer);
      stopListening();
    },
  };
}
