/**
 * Typed errors every world throws for the same conditions, so the engine can react without knowing
 * which world it talks to. Each carries a stable `code` because instances may cross module copies.
 */
export class WorldError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

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
    readonly status: string,
  ) {
    super(
      "RUN_FINISHED",
      `Run ${runId} has already ended (status "${status}"); nothing can be appended to it.`,
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
