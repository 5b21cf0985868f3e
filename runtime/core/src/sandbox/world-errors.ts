/**
 * WDK's world error classes (`workflow/errors`): what a storage backend reports, for code that talks to a world
 * directly. Sandbox-safe (no imports). This project's worlds report `WorldError`s with a stable `code`
 * (`@wfkit/world`); these classes are the documented names for world implementations and callers that use them.
 */
import { hasName, WorkflowError } from "./workflow-error.js";

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
  /** Only errors made as `WorkflowWorldError` itself; use a subclass's `is()` or `instanceof` for the others. */
  static override is(value: unknown): value is WorkflowWorldError {
    return hasName(value, "WorkflowWorldError");
  }
}

/** The write conflicts with the entity's state (a run or event that already exists): HTTP 409. */
export class EntityConflictError extends WorkflowWorldError {
  constructor(message: string, options: WorkflowWorldErrorOptions = {}) {
    super(message, { status: 409, ...options });
    this.name = "EntityConflictError";
  }
  static override is(value: unknown): value is EntityConflictError {
    return hasName(value, "EntityConflictError");
  }
}

/** The run has expired and can no longer be operated on: HTTP 410. */
export class RunExpiredError extends WorkflowWorldError {
  constructor(message: string, options: WorkflowWorldErrorOptions = {}) {
    super(message, { status: 410, ...options });
    this.name = "RunExpiredError";
  }
  static override is(value: unknown): value is RunExpiredError {
    return hasName(value, "RunExpiredError");
  }
}

/** The backend is not ready for the request yet; retry after `retryAfter` seconds: HTTP 425. */
export class TooEarlyError extends WorkflowWorldError {
  constructor(message: string, options: WorkflowWorldErrorOptions = {}) {
    super(message, { status: 425, ...options });
    this.name = "TooEarlyError";
  }
  static override is(value: unknown): value is TooEarlyError {
    return hasName(value, "TooEarlyError");
  }
}

/** The request was rate-limited; retry after `retryAfter` seconds: HTTP 429. */
export class ThrottleError extends WorkflowWorldError {
  constructor(message: string, options: WorkflowWorldErrorOptions = {}) {
    super(message, { status: 429, ...options });
    this.name = "ThrottleError";
  }
  static override is(value: unknown): value is ThrottleError {
    return hasName(value, "ThrottleError");
  }
}
