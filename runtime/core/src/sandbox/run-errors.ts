/**
 * Sandbox-safe (no Node imports), so `workflow/errors` can be imported from workflow code too.
 * Errors `Run` reports to application code (`workflow/api`, `workflow/errors`). Each carries the run ID and
 * a stable `code`; check `code` or the static `is()` when instances may come from another copy of the package.
 */
import { WorkflowError } from "./workflow-error.js";
import { EntityConflictError, worldErrorStatus } from "./world-errors.js";

export class WorkflowRunFailedError extends WorkflowError {
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
    // WDK classifies a failure by `cause.code`: an error without a code of its own came from the workflow's or a
    // step's code (`USER_ERROR`); the runtime's own failures carry theirs (`RUNTIME_ERROR`, `REPLAY_DIVERGENCE`, …).
    if (typeof cause === "object" && cause !== null && (cause as { code?: unknown }).code === undefined) {
      try {
        Object.defineProperty(cause, "code", {
          value: "USER_ERROR",
          enumerable: true,
          writable: true,
          configurable: true,
        });
      } catch {
        // A frozen cause keeps no code.
      }
    }
  }
  static override is(value: unknown): value is WorkflowRunFailedError {
    return hasCode(value, "WORKFLOW_RUN_FAILED");
  }
}

export class WorkflowRunCancelledError extends WorkflowError {
  readonly code = "WORKFLOW_RUN_CANCELLED";
  constructor(
    readonly runId: string,
    readonly reason?: string,
  ) {
    super(`Workflow run ${runId} was cancelled${reason ? `: ${reason}` : "."}`);
    this.name = "WorkflowRunCancelledError";
  }
  static override is(value: unknown): value is WorkflowRunCancelledError {
    return hasCode(value, "WORKFLOW_RUN_CANCELLED");
  }
}

export class WorkflowRunNotFoundError extends WorkflowError {
  readonly code = "WORKFLOW_RUN_NOT_FOUND";
  constructor(readonly runId: string) {
    super(
      `No workflow run with ID "${runId}" exists in this world. Check the ID, and that this process uses the ` +
        "same world as the one that started it (WORKFLOW_TARGET_WORLD).",
    );
    this.name = "WorkflowRunNotFoundError";
  }
  /** Also a world's own "no such run" (`RUN_NOT_FOUND`), which carries `runId` too. */
  static override is(value: unknown): value is WorkflowRunNotFoundError {
    return (
      hasCode(value, "WORKFLOW_RUN_NOT_FOUND") ||
      (hasCode(value, "RUN_NOT_FOUND") && worldErrorStatus(value) === 404)
    );
  }
}

/** `run.query(name)` of a query the workflow code never registered with `setQueryHandler`. */
export class QueryNotFoundError extends WorkflowError {
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
  static override is(value: unknown): value is QueryNotFoundError {
    return hasCode(value, "QUERY_NOT_FOUND");
  }
}

function hasCode(value: unknown, code: string): boolean {
  return typeof value === "object" && value !== null && (value as { code?: unknown }).code === code;
}

/**
 * `start(wf, args, { runId, onConflict: "fail" })` found a run with that ID (or one of another workflow). An
 * `EntityConflictError` (409), as WDK reports creating a run that exists.
 */
export class RunAlreadyExistsError extends EntityConflictError {
  override readonly code = "RUN_ALREADY_EXISTS";
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
  static override is(value: unknown): value is RunAlreadyExistsError {
    return hasCode(value, "RUN_ALREADY_EXISTS");
  }
}
