/**
 * Sandbox-safe (no imports), so `workflow/errors` can be imported from workflow code too.
 * Errors `Run` reports to application code (`workflow/api`, `workflow/errors`). Each carries the run ID and
 * a stable `code`; check `code` or the static `is()` when instances may come from another copy of the package.
 */

export class WorkflowRunFailedError extends Error {
  readonly code = "WORKFLOW_RUN_FAILED";
  constructor(
    readonly runId: string,
    cause: unknown,
  ) {
    const reason =
      cause instanceof Error || (typeof cause === "object" && cause !== null && "message" in cause)
        ? `${(cause as Error).name ?? "Error"}: ${(cause as Error).message}`
        : String(cause);
    super(`Workflow run ${runId} failed: ${reason}`, { cause });
    this.name = "WorkflowRunFailedError";
  }
  static is(value: unknown): value is WorkflowRunFailedError {
    return hasCode(value, "WORKFLOW_RUN_FAILED");
  }
}

export class WorkflowRunCancelledError extends Error {
  readonly code = "WORKFLOW_RUN_CANCELLED";
  constructor(
    readonly runId: string,
    readonly reason?: string,
  ) {
    super(`Workflow run ${runId} was cancelled${reason ? `: ${reason}` : "."}`);
    this.name = "WorkflowRunCancelledError";
  }
  static is(value: unknown): value is WorkflowRunCancelledError {
    return hasCode(value, "WORKFLOW_RUN_CANCELLED");
  }
}

export class WorkflowRunNotFoundError extends Error {
  readonly code = "WORKFLOW_RUN_NOT_FOUND";
  constructor(readonly runId: string) {
    super(
      `No workflow run with ID "${runId}" exists in this world. Check the ID, and that this process uses the ` +
        "same world as the one that started it (WORKFLOW_TARGET_WORLD).",
    );
    this.name = "WorkflowRunNotFoundError";
  }
  static is(value: unknown): value is WorkflowRunNotFoundError {
    return hasCode(value, "WORKFLOW_RUN_NOT_FOUND");
  }
}

/** `run.query(name)` of a query the workflow code never registered with `setQueryHandler`. */
export class QueryNotFoundError extends Error {
  readonly code = "QUERY_NOT_FOUND";
  constructor(
    readonly runId: string,
    readonly queryName: string,
    readonly available: string[] = [],
  ) {
    super(
      `Run ${runId} has no query "${queryName}": its workflow code registers ${
        available.length > 0 ? available.map((n) => `"${n}"`).join(", ") : "none"
      } with setQueryHandler(name, handler) (at the point its log has reached).`,
    );
    this.name = "QueryNotFoundError";
  }
  static is(value: unknown): value is QueryNotFoundError {
    return hasCode(value, "QUERY_NOT_FOUND");
  }
}

function hasCode(value: unknown, code: string): boolean {
  return typeof value === "object" && value !== null && (value as { code?: unknown }).code === code;
}

/** `start(wf, args, { runId, onConflict: "fail" })` found a run with that ID (or one of another workflow). */
export class RunAlreadyExistsError extends Error {
  readonly code = "RUN_ALREADY_EXISTS";
  constructor(
    readonly runId: string,
    readonly workflowName: string,
    readonly existingWorkflowName?: string,
  ) {
    super(
      existingWorkflowName !== undefined && existingWorkflowName !== workflowName
        ? `A run with ID "${runId}" already exists, of another workflow (${existingWorkflowName}, not ${workflowName}). Choose another runId.`
        : `A run with ID "${runId}" already exists. Pass onConflict: "use-existing" (the default with a runId) to get it instead.`,
    );
    this.name = "RunAlreadyExistsError";
  }
  static is(value: unknown): value is RunAlreadyExistsError {
    return hasCode(value, "RUN_ALREADY_EXISTS");
  }
}
