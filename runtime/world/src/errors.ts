/**
 * Typed errors every world throws for the same conditions, so the engine can react without knowing
 * which world it talks to. Each carries a stable `code` because instances may cross module copies.
 */

/**
 * The HTTP status a world error's code corresponds to, in the classes of WDK's `workflow/errors`: 409 is an
 * `EntityConflictError`, 410 a `RunExpiredError`, 404 for a run a `WorkflowRunNotFoundError`; a code not listed
 * is a plain `WorkflowWorldError`. These worlds have no rate limits, so nothing maps to 425 or 429.
 */
export const WORLD_ERROR_STATUS: Readonly<Record<string, number>> = {
  APPEND_CONFLICT: 409,
  RUN_FINISHED: 409,
  LEASE_LOST: 409,
  HOOK_TOKEN_CONFLICT: 409,
  STREAM_CLOSED: 409,
  RUN_NOT_FOUND: 404,
  RUN_LOG_DELETED: 410,
};

/**
 * Marks a `WorldError` for the `is()` checks and `instanceof` of `workflow/errors`' world classes; a registered
 * symbol, so it is the same in every realm and module copy.
 */
export const WORLD_ERROR_MARK: unique symbol = Symbol.for("wfkit.world-error") as never;

export class WorldError extends Error {
  readonly code: string;
  /** The HTTP status of the condition (`WORLD_ERROR_STATUS`), when it has one: WDK's `WorkflowWorldError.status`. */
  readonly status?: number;
  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    const status = WORLD_ERROR_STATUS[code];
    if (status !== undefined) this.status = status;
  }
}
Object.defineProperty(WorldError.prototype, WORLD_ERROR_MARK, { value: true });

/** The log moved on since the writer read it: another writer appended first. */
export class AppendConflictError extends WorldError {
  constructor(
    readonly runId: string,
    readonly expectedSeq: number,
    readonly actualSeq: number,
  ) {
    super(
      "APPEND_CONFLICT",
      `Append to run ${runId} expected the log to end at seq ${expectedSeq}, but it ends at seq ${actualSeq}; ` +
        "another writer appended first. Re-read the log before appending again.",
    );
  }
}

export class RunNotFoundError extends WorldError {
  constructor(readonly runId: string) {
    super("RUN_NOT_FOUND", `No workflow run with ID "${runId}" exists in this world.`);
  }
}

export class RunFinishedError extends WorldError {
  constructor(
    readonly runId: string,
    /** How the run ended (`completed`, `failed`, `cancelled`); `status` is the error's HTTP status, 409. */
    readonly runStatus: string,
  ) {
    super(
      "RUN_FINISHED",
      `Run ${runId} has already ended (status "${runStatus}"); nothing can be appended to it.`,
    );
  }
}

export class LeaseLostError extends WorldError {
  constructor(
    readonly runId: string,
    readonly owner: string,
  ) {
    super(
      "LEASE_LOST",
      `Executor "${owner}" no longer holds the lease on run ${runId} (it expired or was taken over); ` +
        "its write was refused so the run's log cannot fork.",
    );
  }
}

export class HookTokenConflictError extends WorldError {
  constructor(
    readonly token: string,
    readonly holderRunId: string,
  ) {
    super(
      "HOOK_TOKEN_CONFLICT",
      `Hook token "${token}" is already held by a live hook of run ${holderRunId}. ` +
        "Tokens are unique among live hooks: dispose the other hook, wait for its run to end, or pick another token.",
    );
  }
}

export function isWorldError(e: unknown, code?: string): e is WorldError {
  return (
    typeof e === "object" &&
    e !== null &&
    typeof (e as { code?: unknown }).code === "string" &&
    (code === undefined || (e as { code: string }).code === code)
  );
}
