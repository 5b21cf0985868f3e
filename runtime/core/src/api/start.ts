/** `start`, `getRun` and `resumePendingRuns` of `workflow/api`. */
import type { World } from "@wfkit/world";
import { isPossibleRunId, Run } from "./run.js";
import { engineForWorld, getEngine } from "./runtime-config.js";

export interface StartOptions {
  /** Start the run on this world instead of the configured one. */
  world?: World;
  /**
   * Caller-chosen run ID: starting twice with the same ID makes one run (idempotent start, e.g. a webhook's
   * delivery ID), atomically across processes: the world refuses a second run with an existing ID.
   */
  runId?: string;
  /**
   * With `runId`, when a run with that ID exists: `"use-existing"` (default) returns it, `"fail"` rejects with
   * `RunAlreadyExistsError`. A run of another workflow under that ID is always refused.
   */
  onConflict?: "use-existing" | "fail";
}

/** Starts a run of a workflow function (or of a workflow ID) and returns its handle once it is stored. */
export async function start<A extends unknown[], R>(
  workflow: ((...args: A) => Promise<R>) | string,
  args?: A,
  opts: StartOptions = {},
): Promise<Run<R>> {
  const workflowId = workflowIdOf(workflow);
  if (args !== undefined && !Array.isArray(args)) {
    throw new TypeError(
      `start(${workflowId}, args): args must be an array of the workflow's arguments, e.g. start(fn, [a, b]); got ${typeof args}.`,
    );
  }
  if (opts.runId !== undefined && !isPossibleRunId(opts.runId)) {
    throw new TypeError(
      `start(${workflowId}, args, { runId }): runId must be a string of 1-200 characters without NUL characters, got ${JSON.stringify(opts.runId)}.`,
    );
  }
  const engine = opts.world ? engineForWorld(opts.world) : getEngine();
  const runId = await engine.start(workflowId, args ?? [], {
    runId: opts.runId,
    onConflict: opts.onConflict,
  });
  return new Run<R>(runId, engine);
}

/** A handle on an existing run (no I/O until a property is read). */
export function getRun<R = unknown>(runId: string): Run<R> {
  return new Run<R>(runId, getEngine());
}

/** After a restart: takes over unfinished runs whose lease expired; arms their wake-ups. */
export function resumePendingRuns(): Promise<number> {
  return getEngine().resumePendingRuns();
}

function workflowIdOf(workflow: unknown): string {
  if (typeof workflow === "string" && workflow.length > 0) return workflow;
  const id = typeof workflow === "function" ? (workflow as { workflowId?: unknown }).workflowId : undefined;
  if (typeof id === "string" && id.length > 0) return id;
  const name = typeof workflow === "function" && workflow.name ? `"${workflow.name}"` : String(workflow);
  throw new TypeError(
    `start() expects a workflow function, but ${name} is not one (it has no workflowId). Put the directive ` +
      '"use workflow" as the first statement of its async body, and make sure the workflow compiler processes ' +
      "the file (run with `node --import workflow/register` or add the bundler plugin).",
  );
}
