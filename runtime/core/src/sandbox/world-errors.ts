/**
 * WDK's world error classes (`workflow/errors`): what a storage backend reports, for code that talks to a world
 * directly. Sandbox-safe (no imports beyond this folder). This project's worlds throw `WorldError`s
 * (`@wfkit/world`) with a stable `code` and, where the condition has one, an HTTP `status`; these classes
 * recognise them by that status, in `is()` and in `instanceof`, so code written against WDK's classes catches
 * them: a 409 is an `EntityConflictError`, a 410 a `RunExpiredError`, and any of them a `WorkflowWorldError`.
 */
import { hasName, WorkflowError } from "./workflow-error.js";

/** `Symbol.for` key `@wfkit/world` marks its `WorldError`s with (the same symbol in every realm). */
const WORLD_ERROR_MARK = Symbol.for("wfkit.world-error");

/** Status classes the subclasses own; a world error with none of them is a plain `WorkflowWorldError`. */
const SUBCLASS_STATUS = new Set([409, 410, 425, 429]);

/**
 * For an error thrown by one of this project's worlds: its HTTP status (0 when the condition has none);
 * undefined for anything else.
 */
export function worldErrorStatus(value: unknown): number | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  if ((value as Record<symbol, unknown>)[WORLD_ERROR_MARK] !== true) return undefined;
  const status = (value as { status?: unknown }).status;
  return typeof status === "number" ? status : 0;
}

function isWorldErrorWithStatus(value: unknown, status: number): boolean {
  return worldErrorStatus(value) === status;
}

export interface WorkflowWorldErrorOptions {
  /** HTTP status of the backend's answer, when there was one. */
  status?: number;
  /** Machine-readable code, when the backend gave one. */
  code?: string;
  /** The URL requested, when there was one. */
  url?: string;
  /** Seconds to wait before retrying (429 and 425 answers). */
  retryAfter?: number;
  cause?: unknown;
}

/** Base of the errors a world (storage backend) throws; `instanceof WorkflowWorldError` catches all of them. */
export class WorkflowWorldError extends WorkflowError {
  status?: number;
  code?: string;
  url?: string;
  retryAfter?: number;
  constructor(message: string, options: WorkflowWorldErrorOptions = {}) {
    super(message, options);
    this.name = "WorkflowWorldError";
    if (options.status !== undefined) this.status = options.status;
    if (options.code !== undefined) this.code = options.code;
    if (options.url !== undefined) this.url = options.url;
    if (options.retryAfter !== undefined) this.retryAfter = options.retryAfter;
  }
  /**
   * Only errors made as `WorkflowWorldError` itself (or a world error of no subclass's status, such as a lost
   * connection); use a subclass's `is()` or `instanceof` for the others.
   */
  static override is(value: unknown): value is WorkflowWorldError {
    if (hasName(value, "WorkflowWorldError")) return true;
    const status = worldErrorStatus(value);
    return status !== undefined && !SUBCLASS_STATUS.has(status) && status !== 404;
  }
  /**
   * `instanceof` also holds for this project's world errors: `instanceof WorkflowWorldError` for every one of
   * them, `instanceof EntityConflictError` (…) for those its `is()` accepts.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: subclasses inherit this method; `this` is the class on the right of `instanceof`, whose own is() decides.
    const cls = this as unknown as { is(value: unknown): boolean };
    if (Function.prototype[Symbol.hasInstance].call(cls, value)) return true;
    if (worldErrorStatus(value) === undefined) return false;
    return cls === WorkflowWorldError || cls.is(value);
  }
}

/** The write conflicts with the entity's state (a run or event that already exists): HTTP 409. */
export class EntityConflictError extends WorkflowWorldError {
  constructor(message: string, options: WorkflowWorldErrorOptions = {}) {
    super(message, { status: 409, ...options });
    this.name = "EntityConflictError";
  }
  static override is(value: unknown): value is EntityConflictError {
    return (
      hasName(value, "EntityConflictError") ||
      isWorldErrorWithStatus(value, 409) ||
      (value as { code?: unknown } | null)?.code === "RUN_ALREADY_EXISTS"
    );
  }
}

/** The run has expired and can no longer be operated on: HTTP 410. */
export class RunExpiredError extends WorkflowWorldError {
  constructor(message: string, options: WorkflowWorldErrorOptions = {}) {
    super(message, { status: 410, ...options });
    this.name = "RunExpiredError";
  }
  static override is(value: unknown): value is RunExpiredError {
    return hasName(value, "RunExpiredError") || isWorldErrorWithStatus(value, 410);
  }
}

/** The backend is not ready for the request yet; retry after `retryAfter` seconds: HTTP 425. */
export class TooEarlyError extends WorkflowWorldError {
  constructor(message: string, options: WorkflowWorldErrorOptions = {}) {
    super(message, { status: 425, ...options });
    this.name = "TooEarlyError";
  }
  static override is(value: unknown): value is TooEarlyError {
    return hasName(value, "TooEarlyError") || isWorldErrorWithStatus(value, 425);
  }
}

/** The request was rate-limited; retry after `retryAfter` seconds: HTTP 429. */
export class ThrottleError extends WorkflowWorldError {
  constructor(message: string, options: WorkflowWorldErrorOptions = {}) {
    super(message, { status: 429, ...options });
    this.name = "ThrottleError";
  }
  static override is(value: unknown): value is ThrottleError {
    return hasName(value, "ThrottleError") || isWorldErrorWithStatus(value, 429);
  }
}
