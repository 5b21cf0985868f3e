/**
 * Errors the engine records as a run's failure. They travel through the log (serializeError keeps `name`,
 * `message` and own properties such as `code`), so callers test `error.cause.code`, not `instanceof`.
 */

/** Workflow code and the run's event log disagree: the code changed under a run that had already progressed. */
export class ReplayDivergenceError extends Error {
  readonly code = "REPLAY_DIVERGENCE";
  constructor(
    message: string,
    readonly seq: number,
  ) {
    super(
      `${message} The workflow code no longer matches this run's history (seq ${seq}): deploy the code the run ` +
        "started with to finish it, or cancel the run and start a new one.",
    );
    this.name = "ReplayDivergenceError";
  }
}

/** Workflow code awaits something no step, sleep or hook will ever settle: the run would hang forever. */
export class WorkflowStalledError extends Error {
  readonly code = "WORKFLOW_STALLED";
  constructor(workflowName: string) {
    super(
      `Workflow ${workflowName} is waiting, but it has no step, sleep or hook pending, so nothing can ever wake ` +
        "it. It probably awaits a promise that only resolves through a timer, I/O or an event emitter; move that " +
        'code into a "use step" function.',
    );
    this.name = "WorkflowStalledError";
  }
}

/** A step ID the workflow called has no implementation loaded in this process (WDK's `StepNotRegisteredError`). */
export { StepNotRegisteredError as StepNotFoundError } from "../sandbox/workflow-error.js";

/** `retry()` of a run that is not failed. */
export class RunNotRetryableError extends Error {
  readonly code = "RUN_NOT_RETRYABLE";
  constructor(
    readonly runId: string,
    readonly status: string,
  ) {
    super(
      `Run ${runId} is ${status}; only a failed run can be retried. Use fork (a new run reusing its results) for a ` +
        "run that completed or was cancelled.",
    );
    this.name = "RunNotRetryableError";
  }
}

/** Workflow code ran longer than the limit without yielding (`WORKFLOW_TIMEOUT`); made by the sandbox. */
export { WorkflowTimeoutError } from "../vm/index.js";
