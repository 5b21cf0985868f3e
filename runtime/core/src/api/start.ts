/** `start`, `getRun` and `resumePendingRuns` of `workflow/api`. */
import type { World } from "@wfkit/world";
import { log } from "../observability/logger.js";
import { flowSpecFor } from "./flow-options.js";
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
  /**
   * WDK's deployment to run on. Worlds of this project have no immutable deployments: every run executes on the
   * code of the processes that execute it. A deployment ID is recorded on the run (`deploymentId`); `"latest"`
   * has no effect. Either logs a warning once per process.
   */
  deploymentId?: string;
  /**
   * [flow control] When the workflow's concurrency limit or throttle makes runs wait, higher priorities are
   * admitted first (then first come, first served). Default 0; any finite number.
   */
  priority?: number;
}

/**
 * Starts a run of a workflow function (or of a workflow ID) and returns its handle once it is stored. As in WDK,
 * `start(workflow, options)` (no arguments) is accepted too.
 */
export async function start<R>(workflow: (() => Promise<R>) | string, opts: StartOptions): Promise<Run<R>>;
export async function start<A extends unknown[], R>(
  workflow: ((...args: A) => Promise<R>) | string,
  args?: A,
  opts?: StartOptions,
): Promise<Run<R>>;
export async function start<A extends unknown[], R>(
  workflow: ((...args: A) => Promise<R>) | string,
  argsOrOpts?: A | StartOptions,
  maybeOpts?: StartOptions,
): Promise<Run<R>> {
  const optionsOnly =
    maybeOpts === undefined &&
    typeof argsOrOpts === "object" &&
    argsOrOpts !== null &&
    !Array.isArray(argsOrOpts);
  const args = (optionsOnly ? undefined : argsOrOpts) as A | undefined;
  const opts: StartOptions = (optionsOnly ? argsOrOpts : maybeOpts) ?? {};
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
  if (opts.deploymentId !== undefined) warnDeploymentId(opts.deploymentId);
  const engine = opts.world ? engineForWorld(opts.world) : getEngine();
  const flow = flowSpecFor(workflow, workflowId, args ?? [], opts.priority);
  const runId = await engine.start(workflowId, args ?? [], {
    ...(flow ? { flow } : {}),
    runId: opts.runId,
    onConflict: opts.onConflict,
    ...(opts.deploymentId !== undefined && opts.deploymentId !== "latest"
      ? { deploymentId: opts.deploymentId }
      : {}),
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
    "'start' received an invalid workflow function. Ensure the Workflow SDK is configured correctly and the " +
      "function includes a 'use workflow' directive. " +
      `${name} is not a workflow function (it has no workflowId). Put the directive ` +
      '"use workflow" as the first statement of its async body, and make sure the workflow compiler processes ' +
      "the file (run with `node --import workflow/register` or add the bundler plugin). " +
      "(see docs: errors/start-invalid-workflow-function)",
  );
}

let warnedDeployment = false;

function warnDeploymentId(deploymentId: string): void {
  if (typeof deploymentId !== "string" || deploymentId.length === 0) {
    throw new TypeError(
      `start(): deploymentId must be a non-empty string (a deployment ID or "latest"), got ${JSON.stringify(deploymentId)}.`,
    );
  }
  if (warnedDeployment) return;
  warnedDeployment = true;
  log.warn(
    deploymentId === "latest"
      ? 'start(): deploymentId "latest" has no effect here: this world has no immutable deployments to choose ' +
          "from, so the run targets the current code."
      : `start(): deploymentId "${deploymentId}" is recorded on the run, but this world has no immutable ` +
          "deployments: the run executes on the code of the processes that execute runs.",
  );
}
