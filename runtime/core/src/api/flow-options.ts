/**
 * Flow control as declared on a workflow function (`wf.concurrency`, `wf.throttle`, `wf.debounce`) and by
 * `start(…, { priority })`, turned into what the run records (`FlowSpec`). Key functions run here, in the caller's
 * process, on the start's arguments; the executors only see the resulting gate names.
 */
import type { FlowSpec } from "../engine/flow-control.js";
import { parseDuration } from "../sandbox/duration.js";

type KeyFn = (...args: unknown[]) => unknown;

export interface ConcurrencyOptions {
  /** Runs (of this workflow and key) executing steps at once. */
  limit: number;
  /** Separate limit per key, computed from the start's arguments; default one key for the workflow. */
  key?: KeyFn;
}

export interface ThrottleOptions {
  /** Starts per `period`. */
  limit: number;
  /** "1m", "10s" or milliseconds. */
  period: string | number;
  key?: KeyFn;
}

export interface DebounceOptions {
  /** Starts within this period of the previous one collapse into one run. "5s" or milliseconds. */
  period: string | number;
  key?: KeyFn;
}

/** The flow-control properties a workflow function may carry. */
export interface FlowControlled {
  concurrency?: ConcurrencyOptions;
  throttle?: ThrottleOptions;
  debounce?: DebounceOptions;
}

function keyOf(name: string, what: string, key: unknown, args: unknown[]): string {
  if (key === undefined || key === null) return "";
  if (typeof key !== "function") {
    throw new TypeError(
      `${name}.${what}.key must be a function of the workflow's arguments that returns a string, got ${typeof key}.`,
    );
  }
  const value = (key as KeyFn)(...args);
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint")
    return String(value);
  if (typeof value !== "string") {
    throw new TypeError(
      `${name}.${what}.key(...args) must return a string (or a number), got ${value === null ? "null" : typeof value}.`,
    );
  }
  if (value.length > 500)
    throw new TypeError(`${name}.${what}.key(...args) returned more than 500 characters.`);
  return value;
}

function limitOf(name: string, what: string, limit: unknown): number {
  if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1) {
    throw new TypeError(`${name}.${what}.limit must be a whole number ≥ 1, got ${String(limit)}.`);
  }
  return limit;
}

function periodOf(name: string, what: string, period: unknown): number {
  if (typeof period !== "string" && typeof period !== "number") {
    throw new TypeError(
      `${name}.${what}.period must be a duration ("10s", "1m") or milliseconds, got ${typeof period}.`,
    );
  }
  const ms = parseDuration(period, `${name}.${what}.period`);
  if (!(ms > 0)) throw new TypeError(`${name}.${what}.period must be longer than 0, got ${String(period)}.`);
  return ms;
}

function objectOf(name: string, what: string, value: unknown): Record<string, unknown> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "object") {
    throw new TypeError(`${name}.${what} must be an object such as { limit: 5 }, got ${typeof value}.`);
  }
  return value as Record<string, unknown>;
}

/**
 * The run's flow spec for a start of `workflow` (a function, or an ID string that carries no settings) with `args`,
 * or undefined when nothing applies.
 */
export function flowSpecFor(
  workflow: unknown,
  workflowId: string,
  args: unknown[],
  priority: unknown,
): FlowSpec | undefined {
  const spec: FlowSpec = {};
  if (priority !== undefined) {
    if (typeof priority !== "number" || !Number.isFinite(priority)) {
      throw new TypeError(
        `start(…, { priority }): priority must be a finite number (higher first), got ${String(priority)}.`,
      );
    }
    spec.priority = priority;
  }
  if (typeof workflow === "function") {
    const fn = workflow as FlowControlled & { name: string };
    const name = fn.name || "workflow";
    const gate = (kind: string, key: string) => `${kind}:${workflowId}${key === "" ? "" : `:${key}`}`;
    const concurrency = objectOf(name, "concurrency", fn.concurrency);
    if (concurrency) {
      spec.concurrency = {
        limit: limitOf(name, "concurrency", concurrency.limit),
        gate: gate("concurrency", keyOf(name, "concurrency", concurrency.key, args)),
      };
    }
    const throttle = objectOf(name, "throttle", fn.throttle);
    if (throttle) {
      spec.throttle = {
        limit: limitOf(name, "throttle", throttle.limit),
        periodMs: periodOf(name, "throttle", throttle.period),
        gate: gate("throttle", keyOf(name, "throttle", throttle.key, args)),
      };
    }
    const debounce = objectOf(name, "debounce", fn.debounce);
    if (debounce) {
      spec.debounce = {
        periodMs: periodOf(name, "debounce", debounce.period),
        gate: gate("debounce", keyOf(name, "debounce", debounce.key, args)),
      };
    }
  }
  return Object.keys(spec).length > 0 ? spec : undefined;
}
