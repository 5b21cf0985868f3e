/**
 * What `getStepMetadata()`, `getWorkflowMetadata()`, `resumeHook()` and `getHookByToken()` return; the public
 * `workflow` package re-exports these types.
 */

export interface StepMetadata {
  /** The step's ID (`step//<file>//<name>`). */
  stepName: string;
  /** `<runId>/<correlationId>` of this step call: unique across runs and stable across retries and replays,
   *  so it serves as an idempotency key. */
  stepId: string;
  /** When the step's first attempt started; retries keep it (measure back-off from it). */
  stepStartedAt: Date;
  /** 1 for the first attempt, 2 for the first retry, … */
  attempt: number;
  /**
   * Aborted when the run is cancelled (reason: a `WorkflowRunCancelledError`) or ends while this body still
   * runs (a race it lost): pass it to fetch() and other cancellable work. The body's result is discarded.
   * Not enumerable: spreading or returning the metadata leaves it out, so the metadata stays serializable.
   */
  signal: AbortSignal;
}

export interface WorkflowMetadata {
  workflowRunId: string;
  /** The run's workflow ID (`workflow//<file>//<name>`). */
  workflowName: string;
  workflowStartedAt: Date;
  /** The app's base URL (`WORKFLOW_BASE_URL`, or what an integration fills in). */
  url: string;
}

/** A live hook as application code sees it (`resumeHook`, `getHookByToken`). */
export interface HookInfo {
  runId: string;
  hookId: string;
  token: string;
  kind: "hook" | "webhook";
  /** The `metadata` given to createHook, deserialized. */
  metadata?: unknown;
  createdAt: Date;
}
