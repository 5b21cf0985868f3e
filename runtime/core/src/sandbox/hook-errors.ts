/**
 * Errors of hooks and webhooks. Sandbox-safe (no Node imports): workflow code sees `HookConflictError` when it
 * awaits a hook whose token another live hook holds, and application code sees the others from
 * `resumeHook` / `getHookByToken` / `defineHook().resume`. Each has a stable `code` and a static `is()`
 * because instances cross realms and module copies.
 */
import { errorDocs, WorkflowError } from "./workflow-error.js";

/** A hook was created with a token that a live hook (of any run) already holds. */
export class HookConflictError extends WorkflowError {
  readonly code = "HOOK_CONFLICT";
  readonly slug = "hook-conflict";
  /** The run whose live hook holds the token, when known (WDK's name). */
  readonly conflictingRunId?: string;
  constructor(
    readonly token: string,
    /** The same as `conflictingRunId` (this project's earlier name). */
    readonly holderRunId?: string,
  ) {
    super(
      `Hook token "${token}" is already in use by another workflow${holderRunId ? ` (run ${holderRunId})` : ""}. ` +
        "Tokens are unique among live hooks: dispose the other hook, wait for its run to end, or choose another " +
        `token (or omit it to get a generated one). ${errorDocs("hook-conflict")}`,
    );
    this.name = "HookConflictError";
    if (holderRunId !== undefined) this.conflictingRunId = holderRunId;
  }
  static override is(value: unknown): value is HookConflictError {
    return hasCode(value, "HOOK_CONFLICT");
  }
}

/** No live hook holds the token: it never existed, was disposed, or its run has ended. */
export class HookNotFoundError extends WorkflowError {
  readonly code = "HOOK_NOT_FOUND";
  constructor(readonly token: string) {
    super(
      `No live hook has the token "${token}": it was never created, it was disposed, or its run has ended. ` +
        "Check the token, and that this process uses the same world as the run (WORKFLOW_TARGET_WORLD).",
    );
    this.name = "HookNotFoundError";
  }
  static override is(value: unknown): value is HookNotFoundError {
    return hasCode(value, "HOOK_NOT_FOUND");
  }
}

/** One problem a Standard Schema reported (`~standard.validate(...).issues`). */
export interface HookPayloadIssue {
  readonly message: string;
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }>;
}

/** `defineHook({ schema }).resume()` got a payload the schema refuses; nothing was delivered. */
export class HookPayloadInvalidError extends WorkflowError {
  readonly code = "HOOK_PAYLOAD_INVALID";
  constructor(
    readonly token: string,
    readonly issues: readonly HookPayloadIssue[],
  ) {
    const listed = issues
      .map((issue) => {
        const path = (issue.path ?? [])
          .map((p) => String(typeof p === "object" && p !== null ? p.key : p))
          .join(".");
        return path ? `${path}: ${issue.message}` : issue.message;
      })
      .join("; ");
    super(
      `The payload for hook "${token}" does not match the hook's schema, so it was not delivered: ${listed}`,
    );
    this.name = "HookPayloadInvalidError";
  }
  static override is(value: unknown): value is HookPayloadInvalidError {
    return hasCode(value, "HOOK_PAYLOAD_INVALID");
  }
}

function hasCode(value: unknown, code: string): boolean {
  return typeof value === "object" && value !== null && (value as { code?: unknown }).code === code;
}
