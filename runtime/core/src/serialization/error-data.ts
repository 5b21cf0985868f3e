/**
 * Errors as data: what crosses the boundary when a step throws, or when an error sits inside a value.
 * Kept: name, message, stack, cause (recursively), AggregateError's `errors`, own enumerable properties, and
 * the FatalError/RetryableError brand (read through their static `is()`, which works across realms and across
 * the sandbox bundle's own copy of those classes).
 */
import { ERROR_BRAND, FatalError, RetryableError } from "../sandbox/errors.js";
import { classify } from "./classify.js";
import { MAX_DEPTH } from "./depth.js";
import { setOwn } from "./own-keys.js";

export interface ErrorData {
  name: string;
  message: string;
  stack?: string;
  cause?: unknown;
  errors?: unknown;
  props?: Record<string, unknown>;
  kind?: "FatalError" | "RetryableError";
}

/**
 * Optional per-realm constructors for branded errors: a realm whose code has its own copy of the `workflow`
 * package can expose `{ FatalError, RetryableError }` under this symbol so revived errors are instances of
 * those exact classes. Without it, a foreign realm gets its own Error carrying the brand (so `.is()` holds).
 */
export const ERROR_CLASSES_KEY: unique symbol = Symbol.for("wfkit.errorClasses");

const SKIPPED_PROPS = new Set(["name", "message", "stack", "cause"]);
const STANDARD_ERRORS = new Set([
  "Error",
  "TypeError",
  "RangeError",
  "SyntaxError",
  "ReferenceError",
  "EvalError",
  "URIError",
  "AggregateError",
]);
const CIRCULAR = "[Circular]";

function readString(read: () => unknown, fallback: string): string {
  try {
    const value = read();
    return value === undefined ? fallback : String(value);
  } catch {
    return fallback;
  }
}

/**
 * Edges (error, key) that close a cycle back to an ancestor error. devalue revives a reduced value only after
 * its data, so a cycle through errors could not be revived; such back-edges are replaced by "[Circular]".
 * Computed once per serialization, from the first (outermost) error reached, which devalue always reduces
 * before the errors below it.
 */
export class ErrorCycles {
  private readonly scanned = new WeakSet<object>();
  private readonly cuts = new WeakMap<object, Set<string>>();

  isCut(error: object, key: string): boolean {
    return this.cuts.get(error)?.has(key) ?? false;
  }

  scan(root: object): void {
    if (this.scanned.has(root)) return;
    const ancestors: object[] = [];
    const seen = new WeakSet<object>();
    let depth = 0;
    const visitError = (error: object) => {
      this.scanned.add(error);
      ancestors.push(error);
      for (const [key, value] of errorEdges(error)) walk(value, error, key);
      ancestors.pop();
    };
    const walk = (value: unknown, owner: object, key: string): void => {
      if (typeof value !== "object" || value === null) return;
      // Deeper than serialize accepts: serialization fails there anyway (with the path), so stop recursing.
      if (depth >= MAX_DEPTH) return;
      depth++;
      try {
        walkInto(value, owner, key);
      } finally {
        depth--;
      }
    };
    const walkInto = (value: object, owner: object, key: string): void => {
      const kind = classify(value).kind;
      if (kind === "error") {
        if (ancestors.includes(value)) {
          const set = this.cuts.get(owner) ?? new Set<string>();
          set.add(key);
          this.cuts.set(owner, set);
        } else if (!this.scanned.has(value)) {
          visitError(value);
        }
        return;
      }
      if (seen.has(value)) return;
      seen.add(value);
      if (Array.isArray(value)) {
        for (const item of value) walk(item, owner, key);
      } else if (classify(value).tag === "Map") {
        for (const [k, v] of value as Map<unknown, unknown>) {
          walk(k, owner, key);
          walk(v, owner, key);
        }
      } else if (classify(value).tag === "Set") {
        for (const item of value as Set<unknown>) walk(item, owner, key);
      } else if (classify(value).tag === "Object" && kind === "native") {
        for (const k of Object.keys(value)) walk((value as Record<string, unknown>)[k], owner, key);
      }
    };
    visitError(root);
  }
}

function* errorEdges(error: object): Generator<[string, unknown]> {
  if (Object.hasOwn(error, "cause")) yield ["cause", (error as { cause: unknown }).cause];
  if (Object.hasOwn(error, "errors")) yield ["errors", (error as { errors: unknown }).errors];
  for (const key of Object.keys(error)) {
    if (!SKIPPED_PROPS.has(key) && key !== "errors") yield [key, (error as Record<string, unknown>)[key]];
  }
}

export function errorToData(error: Error, cycles: ErrorCycles): ErrorData {
  cycles.scan(error);
  const e = error as Error & Record<string, unknown>;
  const data: ErrorData = {
    name: readString(() => e.name, "Error"),
    message: readString(() => e.message, ""),
  };
  const stack = readString(() => e.stack, "");
  if (stack) data.stack = stack;
  if (FatalError.is(e)) data.kind = "FatalError";
  else if (RetryableError.is(e)) data.kind = "RetryableError";
  for (const [key, value] of errorEdges(error)) {
    const safe = cycles.isCut(error, key) ? CIRCULAR : value;
    if (key === "cause") data.cause = safe;
    else if (key === "errors") data.errors = safe;
    else {
      data.props ??= {};
      data.props[key] = safe;
    }
  }
  return data;
}

type Ctor = new (...args: unknown[]) => Error;

function define(target: object, key: PropertyKey, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: true, configurable: true, enumerable: false });
}

/** Rebuilds an error in `realm` (its Error/TypeError/… or the branded classes) from revived data. */
export function dataToError(data: ErrorData, realm: typeof globalThis): Error {
  const r = realm as unknown as Record<string | symbol, unknown>;
  const message = typeof data.message === "string" ? data.message : String(data.message ?? "");
  const name = typeof data.name === "string" ? data.name : "Error";
  let error: Error;
  if (data.kind) {
    const classes = (r[ERROR_CLASSES_KEY] ??
      (realm === globalThis ? { FatalError, RetryableError } : undefined)) as
      | Record<string, Ctor | undefined>
      | undefined;
    const Branded = classes?.[data.kind];
    if (typeof Branded === "function") {
      error = new Branded(message);
    } else {
      error = new (r.Error as Ctor)(message);
      Object.defineProperty(error, ERROR_BRAND, { value: data.kind });
    }
  } else if (name === "AggregateError" && typeof r.AggregateError === "function") {
    const errors = Array.isArray(data.errors) ? data.errors : [];
    error = new (r.AggregateError as Ctor)(errors, message);
  } else if (STANDARD_ERRORS.has(name) && typeof r[name] === "function") {
    error = new (r[name] as Ctor)(message);
  } else {
    error = new (r.Error as Ctor)(message);
  }
  if (error.name !== name) define(error, "name", name);
  define(error, "stack", data.stack ?? `${name}: ${message}`);
  if ("cause" in data) define(error, "cause", data.cause);
  if ("errors" in data && name !== "AggregateError") define(error, "errors", data.errors);
  // Defined, not assigned: a property named like an inherited one (`toString`, `__proto__`) stays an own one.
  if (data.props) for (const key of Object.keys(data.props)) setOwn(error, key, data.props[key]);
  return error;
}
