/**
 * When a failed step runs again. `maxRetries` counts retries after the first attempt (default 3). The
 * default delay doubles from `baseMs` (1 s) up to `maxMs` (1 min) with ±25 % jitter so that many runs
 * failing together do not retry in lockstep; `RetryableError.retryAfter` overrides it; `FatalError`
 * never retries.
 */
import { FatalError, RetryableError } from "../sandbox/errors.js";

export interface RetryOptions {
  /** First back-off delay. Default 1000 ms (tests make it small). */
  baseMs: number;
  /** Cap of the back-off delay. Default 60 000 ms. */
  maxMs: number;
  /** Source of jitter in [0, 1); tests pin it. */
  random?: () => number;
}

export const DEFAULT_RETRY: RetryOptions = { baseMs: 1000, maxMs: 60_000 };
export const DEFAULT_MAX_RETRIES = 3;

export type RetryDecision = { retry: false } | { retry: true; retryAt: number };

/** Reads `fn.maxRetries` the way the public API documents it (a property of the step function). */
export function maxRetriesOf(fn: unknown): number {
  const value = (fn as { maxRetries?: unknown } | undefined)?.maxRetries;
  return typeof value === "number" && Number.isInteger(value) && value >= 0 ? value : DEFAULT_MAX_RETRIES;
}

/** Back-off before attempt `failedAttempt + 1`. */
export function backoffDelay(failedAttempt: number, opts: RetryOptions = DEFAULT_RETRY): number {
  const exponential = opts.baseMs * 2 ** Math.max(0, failedAttempt - 1);
  const jitter = 0.75 + 0.5 * (opts.random ?? Math.random)();
  return Math.round(Math.min(opts.maxMs, exponential * jitter));
}

export function decideRetry(
  error: unknown,
  failedAttempt: number,
  maxRetries: number,
  now: number,
  opts: RetryOptions = DEFAULT_RETRY,
): RetryDecision {
  if (FatalError.is(error) || failedAttempt > maxRetries) return { retry: false };
  if (RetryableError.is(error)) {
    const at = (error as RetryableError).retryAfter;
    const ms =
      at instanceof Date || Object.prototype.toString.call(at) === "[object Date]"
        ? at.getTime()
        : Number.NaN;
    if (Number.isFinite(ms)) return { retry: true, retryAt: Math.max(now, ms) };
  }
  return { retry: true, retryAt: now + backoffDelay(failedAttempt, opts) };
}
