/**
 * `WorkflowError`, the base of the public API's error classes (WDK's `workflow/errors`). Sandbox-safe (no
 * imports). Instances cross realms and module copies, so the static `is()` checks read `name` (or a subclass's
 * stable `code`), never `instanceof`.
 */

/** Where a documented error's explanation lives: `docs/errors.md#<slug>` in this project. */
export function errorDocs(slug: string): string {
  return `(see docs: errors/${slug})`;
}

export function hasName(value: unknown, name: string): boolean {
  return typeof value === "object" && value !== null && (value as { name?: unknown }).name === name;
}

export class WorkflowError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "WorkflowError";
  }
  /** Matches errors made as `WorkflowError` itself, not its subclasses (they carry their own name). */
  static is(value: unknown): value is WorkflowError {
    return hasName(value, "WorkflowError");
  }
}

/**
 * The runtime could not execute a workflow: a value that cannot cross the boundary, a timeout, invalid runtime
 * state. The run fails with it as `cause`.
 */
export class WorkflowRuntimeError extends WorkflowError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "WorkflowRuntimeError";
  }
  static override is(value: unknown): value is WorkflowRuntimeError {
    return hasName(value, "WorkflowRuntimeError");
  }
}

/** A workflow ID that the code of this deployment does not define (renamed, moved, or a build problem). */
export class WorkflowNotRegisteredError extends WorkflowError {
  /** The run fails with this code: an infrastructure error, not one of the workflow's code. */
  readonly code = "RUNTIME_ERROR";
  /** Starting a child run of an unknown ID (`start()` in workflow code) fails its step at once, unretried. */
  readonly fatal = true;
  readonly slug = "workflow-not-registered";
  constructor(
    readonly workflowName: string,
    options?: { cause?: unknown; detail?: string },
  ) {
    super(
      `Workflow "${workflowName}" is not registered in the current deployment. This usually means a run was ` +
        "started against a deployment that does not have this workflow, or there was a build/bundling issue. " +
        "Check the workflow ID (it is derived from the file path and the function name, so renaming either " +
        `changes it) and rebuild.${options?.detail ? ` ${options.detail}` : ""} ${errorDocs("workflow-not-registered")}`,
      options,
    );
    this.name = "WorkflowNotRegisteredError";
  }
  static override is(value: unknown): value is WorkflowNotRegisteredError {
    return hasName(value, "WorkflowNotRegisteredError");
  }
}

/**
 * A step ID the workflow called has no implementation in this process. The step fails at once (like a
 * `FatalError`, never retried) and workflow code can catch it.
 */
export class StepNotRegisteredError extends WorkflowError {
  readonly code = "STEP_NOT_REGISTERED";
  readonly fatal = true;
  readonly slug = "step-not-registered";
  constructor(readonly stepName: string) {
    super(
      `Step "${stepName}" is not registered in the current deployment. This usually indicates a build or ` +
        "bundling issue that caused the step to not be included in the deployment: make sure the file that " +
        "defines it is compiled in step mode and loaded (the bundler plugin or `node --import workflow/register` " +
        `does this), or configure a CodeProvider whose loadStep() registers it. ${errorDocs("step-not-registered")}`,
    );
    this.name = "StepNotRegisteredError";
  }
  static override is(value: unknown): value is StepNotRegisteredError {
    return hasName(value, "StepNotRegisteredError");
  }
}

/** The result of a run was asked for before the run ended (`run.returnValue` waits instead). */
export class WorkflowRunNotCompletedError extends WorkflowError {
  constructor(
    readonly runId: string,
    readonly status: string,
  ) {
    super(
      `Workflow run ${runId} has not completed yet: it is ${status}. Await run.returnValue to wait for it.`,
    );
    this.name = "WorkflowRunNotCompletedError";
  }
  static override is(value: unknown): value is WorkflowRunNotCompletedError {
    return hasName(value, "WorkflowRunNotCompletedError");
  }
}

/** A run's stored data was written by a newer spec version than this runtime reads. */
export class RunNotSupportedError extends WorkflowError {
  constructor(
    readonly runSpecVersion: number,
    readonly worldSpecVersion: number,
  ) {
    super(
      `This run's data needs spec version ${runSpecVersion}, but this runtime supports version ` +
        `${worldSpecVersion}: upgrade the workflow package to process it.`,
    );
    this.name = "RunNotSupportedError";
  }
  static override is(value: unknown): value is RunNotSupportedError {
    return hasName(value, "RunNotSupportedError");
  }
}
