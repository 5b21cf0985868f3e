/**
 * Error classes of the public API. This module may be evaluated inside the workflow sandbox, so it
 * imports nothing from Node. Instances cross realms (sandbox ↔ host) and module copies (the sandbox
 * bundle carries its own copy), so `instanceof` is unreliable: use the static `is()` checks, which read
 * a brand symbol shared through `Symbol.for`.
 */
import { parseDuration } from "./duration.js";

const BRAND = Symbol.for("wfkit.errorKind");

type Brand = "FatalError" | "RetryableError";

function hasBrand(value: unknown, brand: Brand): boolean {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[BRAND] === brand;
}

/** A step error that must not be retried: the step fails at once and the error reaches workflow code. */
export class FatalError extends Error {
  readonly fatal = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "FatalError";
    Object.defineProperty(this, BRAND, { value: "FatalError" });
  }
  static is(value: unknown): value is FatalError {
    return hasBrand(value, "FatalError");
  }
}

export interface RetryableErrorOptions {
  /** Delay before the next attempt: milliseconds, a duration string ("5s", "1m") or a Date. */
  retryAfter?: number | string | Date;
  cause?: unknown;
}

/** A step error that asks to be retried after a given delay (instead of the default back-off). */
export class RetryableError extends Error {
  readonly retryAfter: Date;
  constructor(message: string, options: RetryableErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "RetryableError";
    Object.defineProperty(this, BRAND, { value: "RetryableError" });
    const after = options.retryAfter;
    this.retryAfter =
      after === undefined
        ? new Date(Date.now() + 1000)
        : after instanceof Date || Object.prototype.toString.call(after) === "[object Date]"
          ? new Date((after as Date).getTime())
          : new Date(Date.now() + parseDuration(after as number | string, "RetryableError retryAfter"));
  }
  static is(value: unknown): value is RetryableError {
    return hasBrand(value, "RetryableError");
  }
}

export const ERROR_BRAND = BRAND;

/**
 * A step attempt ran longer than its `timeout` (`myStep.timeout = "30s"`). It is retried per `maxRetries` like any
 * error; the attempt's `getStepMetadata().signal` fires with it and a late result of that attempt is discarded.
 */
export class StepTimeoutError extends Error {
  readonly code = "STEP_TIMEOUT";
  constructor(
    readonly stepName: string,
    readonly timeoutMs: number,
    readonly attempt: number,
  ) {
    super(
      `Step ${stepName} (attempt ${attempt}) did not finish within its timeout of ${timeoutMs} ms; the attempt's ` +
        "AbortSignal was fired and its result, if it still comes, is discarded.",
    );
    this.name = "StepTimeoutError";
  }
  static is(value: unknown): value is StepTimeoutError {
    return (
      typeof value === "object" && value !== null && (value as { code?: unknown }).code === "STEP_TIMEOUT"
    );
  }
}

/**
 * [addition, events] `waitForEvent(name, { timeout })` saw no matching event within `timeout`. Workflow code may catch
 * it (`EventTimeoutError.is(error)`) and go on; uncaught, it fails the run like any error.
 */
export class EventTimeoutError extends Error {
  readonly code = "EVENT_TIMEOUT";
  constructor(
    readonly eventName: string,
    readonly timeoutMs: number,
    readonly key?: string,
  ) {
    super(
      `No event "${eventName}"${key === undefined ? "" : ` with key "${key}"`} arrived within ${timeoutMs} ms ` +
        "(waitForEvent timeout).",
    );
    this.name = "EventTimeoutError";
  }
  static is(value: unknown): value is EventTimeoutError {
    return (
      typeof value === "object" && value !== null && (value as { code?: unknown }).code === "EVENT_TIMEOUT"
    );
  }
}

/** [addition, schedules] `pauseSchedule()`, `resumeSchedule()` or `triggerSchedule()` of a name no schedule has. */
export class ScheduleNotFoundError extends Error {
  readonly code = "SCHEDULE_NOT_FOUND";
  constructor(readonly scheduleName: string) {
    super(
      `No schedule is named "${scheduleName}" in this world. listSchedules() (or \`wf schedules ls\`) lists them; ` +
        "schedule(name, workflow, { cron }) creates one.",
    );
    this.name = "ScheduleNotFoundError";
  }
  static is(value: unknown): value is ScheduleNotFoundError {
    return (
      typeof value === "object" &&
      value !== null &&
      (value as { code?: unknown }).code === "SCHEDULE_NOT_FOUND"
    );
  }
}
