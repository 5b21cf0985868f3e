/**
 * serialize/deserialize: devalue (cycles, repeated references, undefined/NaN/-0, Date, Map, Set, RegExp, BigInt,
 * URL, URLSearchParams, typed arrays, ArrayBuffer) plus reducers for errors, Headers, Request, Response, classes
 * that declare serializers, and an extension registry (streams and step functions are added by the engine).
 *
 * Cross-realm correctness: values are classified by internal slots (classify.ts), which works for values of any
 * realm, and inspected through our stringify operations (stringify-operations.ts); on the way back, values are
 * built from the target realm's constructors (realm.ts). Both directions keep own keys exactly (own-keys.ts) and
 * bound nesting to `MAX_DEPTH` (depth.ts).
 */
import { DevalueError, parse, stringify, stringifyAsync } from "devalue";
import {
  classIdOf,
  findSerializableClass,
  type SerializableClass,
  WORKFLOW_DESERIALIZE,
  WORKFLOW_SERIALIZE,
} from "./classes.js";
import { classify, describe, resetClassifyCache } from "./classify.js";
import { DEPTH_HINT, DepthExceeded, depthProblem, Levels } from "./depth.js";
import { dataToError, ErrorCycles, type ErrorData, errorToData } from "./error-data.js";
import { SerializationError, UNKNOWN_CLASS_SLUG } from "./errors.js";
import { closeContainer, realmOperations, withOpenContainers } from "./realm.js";
import { stringifyOperations } from "./stringify-operations.js";
import {
  bodyOf,
  dataToHeaders,
  dataToRequest,
  dataToResponse,
  type HeadersData,
  headersToData,
  hostOf,
  type RequestData,
  type ResponseData,
} from "./web.js";

/**
 * Extension point: teaches serialize/deserialize one more kind of value (the engine adds streams and step
 * functions this way). `reduce` is called for EVERY value being serialized (primitives included), so it must
 * be cheap and return `undefined` for values that are not its kind; anything else it returns (any serializable
 * value, even null or 0) is written under `tag` and handed to `revive` once revived.
 */
export interface Reducer {
  /** Wire tag; unique, and not one of the built-in tags. */
  tag: string;
  reduce(value: unknown): unknown;
  /** Rebuilds the value from its revived data; `realm` is the globalThis whose constructors to use. */
  revive(data: unknown, realm: typeof globalThis): unknown;
}

export interface SerializeOptions {
  /** Root name used in error paths, e.g. "args", "returnValue". */
  path?: string;
  /** Reducers for this call only, tried before the registered ones. */
  reducers?: readonly Reducer[];
}

export interface DeserializeOptions {
  /** Realm whose constructors revived values use (a Sandbox.global); default the host globalThis. Workflow code
   *  must receive ITS realm's Date/Map/Error so instanceof works. */
  realm?: typeof globalThis;
  /** Revivers for this call only (the same Reducer objects passed to serialize). */
  reducers?: readonly Reducer[];
}

/** Tags devalue writes and revives by itself. */
export const DEVALUE_TAGS: ReadonlySet<string> = new Set([
  "Date",
  "Set",
  "Map",
  "RegExp",
  "Object",
  "BigInt",
  "null",
  "URL",
  "URLSearchParams",
  "ArrayBuffer",
  "DataView",
  "Int8Array",
  "Uint8Array",
  "Uint8ClampedArray",
  "Int16Array",
  "Uint16Array",
  "Float16Array",
  "Int32Array",
  "Uint32Array",
  "Float32Array",
  "Float64Array",
  "BigInt64Array",
  "BigUint64Array",
]);

const BUILT_IN_TAGS = new Set([
  // ours
  "Error",
  "Class",
  "Headers",
  "Request",
  "Response",
  "Unserializable",
  "Promise",
  ...DEVALUE_TAGS,
]);

const registered: Reducer[] = [];
let registryVersion = 0;

/** Adds a reducer for every later call in this process; returns a function that removes it again. */
export function registerReducer(reducer: Reducer): () => void {
  if (
    !reducer ||
    typeof reducer.tag !== "string" ||
    reducer.tag === "" ||
    reducer.tag.startsWith("Temporal.")
  ) {
    throw new TypeError("registerReducer: a reducer needs a non-empty string `tag`");
  }
  if (BUILT_IN_TAGS.has(reducer.tag)) {
    throw new TypeError(
      `registerReducer: the tag "${reducer.tag}" is built in; choose another (e.g. "wfkit.${reducer.tag}")`,
    );
  }
  if (typeof reducer.reduce !== "function" || typeof reducer.revive !== "function") {
    throw new TypeError(
      `registerReducer("${reducer.tag}"): reduce(value) and revive(data, realm) must be functions`,
    );
  }
  if (registered.some((r) => r.tag === reducer.tag)) {
    throw new TypeError(`registerReducer: a reducer with the tag "${reducer.tag}" is already registered`);
  }
  registered.push(reducer);
  registryVersion++;
  return () => {
    const at = registered.indexOf(reducer);
    if (at >= 0) {
      registered.splice(at, 1);
      registryVersion++;
    }
  };
}

// ---------------------------------------------------------------------------------------------------------------
// serialize

const HINTS = {
  instance:
    "Pass plain data (the fields you need) instead; to pass instances of your own class, give it static " +
    '[Symbol.for("workflow-serialize")] and [Symbol.for("workflow-deserialize")] methods and call registerSerializableClass()',
  function:
    "Functions cannot cross the workflow boundary (only step functions can); pass data and call the function where it is needed",
  symbol: "Use a string instead",
  promise: "Await it and pass the result",
  symbolKeys: "Remove the symbol-keyed properties or use string keys",
  body: "Use serializeAsync(), which reads the body, or pass the fields you need",
};

interface Problem {
  problem: string;
  hint: string;
}

interface Context {
  async: boolean;
  lossy: boolean;
  /** How deep each object met so far lies. */
  levels: Levels;
  /** Created on the first error met (most values hold none). */
  cycles?: ErrorCycles;
  /** Promises we created ourselves (bodies being read), which serializeAsync may await. */
  internal?: WeakSet<object>;
  /** Why the last value handed to devalue as SENTINEL was rejected. */
  stash?: Problem;
  /** Rejects a value met by the stringify operations (too deep): what to hand devalue instead. */
  reject(problem: string, hint: string): unknown;
}

/** Returned by a reducer for a value it rejects: devalue then fails on it and reports the path to it. */
const SENTINEL = function rejectedValue() {};

function ctorOf(value: object): SerializableClass {
  return Object.getPrototypeOf(value).constructor;
}

/** Why a value cannot be serialized, for kinds a reducer would otherwise claim or devalue would misread. */
function problemOf(value: unknown, ctx: Context): Problem | undefined {
  const { kind } = classify(value);
  if (kind === "other") {
    // Rejected here rather than left to devalue, whose Object.prototype.toString check would trust a forged
    // Symbol.toStringTag (a class instance claiming to be a "Map").
    return { problem: `${describe(value)} cannot be serialized`, hint: HINTS.instance };
  }
  if (kind === "class") {
    const cls = ctorOf(value as object);
    if (classIdOf(cls) === undefined) {
      return {
        problem: `${describe(value)} cannot be serialized: its class declares [Symbol.for("workflow-serialize")] but has no ID`,
        hint: `Call registerSerializableClass("${cls.name}", ${cls.name}) or add \`static classId = "${cls.name}"\``,
      };
    }
  } else if (kind === "request" || kind === "response") {
    const { problem } = bodyOf(value as Request, ctx.async);
    if (problem) return { problem: `${describe(value)} cannot be serialized: ${problem}`, hint: HINTS.body };
  } else if (kind === "promise" && !ctx.internal?.has(value as object)) {
    return { problem: `${describe(value)} cannot be serialized`, hint: HINTS.promise };
  }
  return undefined;
}

function reject(ctx: Context, problem: Problem): typeof SENTINEL {
  ctx.stash = problem;
  return SENTINEL;
}

/** A reducer's data takes the place of the value on the wire: it lies at the value's depth. */
function claimed<T>(ctx: Context, value: unknown, data: T): T {
  if (typeof data === "object" && data !== null && typeof value === "object" && value !== null) {
    ctx.levels.replace(value, data);
  }
  return data;
}

type DevalueReducers = Record<string, (value: any) => unknown>;

/** devalue reducers reading the current call's context through `ctxOf` (see `syncReducers`). */
function buildReducers(
  ctxOf: () => Context,
  lossy: boolean,
  extra: readonly Reducer[] | undefined,
): DevalueReducers {
  const reducers: DevalueReducers = {};
  if (lossy) {
    // First, so it replaces anything unserializable before another reducer (or devalue) rejects it.
    reducers.Unserializable = (value) => {
      if (value === SENTINEL) return undefined;
      const { kind } = classify(value);
      if (kind === "function" || kind === "symbol") return describe(value);
      return problemOf(value, ctxOf()) ? describe(value) : undefined;
    };
  }
  for (const reducer of [...(extra ?? []), ...registered]) {
    if (reducers[reducer.tag]) continue;
    reducers[reducer.tag] = (value) => {
      const data = reducer.reduce(value);
      // Wrapped so falsy data (null, 0, "") still counts as claimed: devalue only checks truthiness.
      return data === undefined ? undefined : claimed(ctxOf(), value, [data]);
    };
  }
  reducers.Error = (value) => {
    if (classify(value).kind !== "error") return undefined;
    const ctx = ctxOf();
    ctx.cycles ??= new ErrorCycles();
    return claimed(ctx, value, errorToData(value, ctx.cycles));
  };
  reducers.Class = (value) => {
    if (classify(value).kind !== "class") return undefined;
    const problem = problemOf(value, ctxOf());
    if (problem) return reject(ctxOf(), problem);
    const cls = ctorOf(value) as unknown as Record<symbol, (v: unknown) => unknown>;
    return claimed(ctxOf(), value, [classIdOf(cls), cls[WORKFLOW_SERIALIZE]!(value)]);
  };
  reducers.Headers = (value) =>
    classify(value).kind === "headers" ? claimed(ctxOf(), value, headersToData(value)) : undefined;
  const message = (value: Request | Response, kind: "request" | "response"): unknown => {
    if (classify(value).kind !== kind) return undefined;
    const ctx = ctxOf();
    const problem = problemOf(value, ctx);
    if (problem) return reject(ctx, problem);
    const { body } = bodyOf(value, ctx.async);
    if (body) {
      ctx.internal ??= new WeakSet();
      ctx.internal.add(body);
    }
    const host = hostOf(value);
    const head =
      kind === "request"
        ? { method: (host as Request).method, url: (host as Request).url }
        : { status: (host as Response).status, statusText: (host as Response).statusText };
    const data = body ? { ...head, headers: host.headers, body } : { ...head, headers: host.headers };
    return claimed(ctx, value, data);
  };
  reducers.Request = (value) => message(value, "request");
  reducers.Response = (value) => message(value, "response");
  // Last: rejects what no reducer claimed and devalue must not handle (class instances, user promises).
  reducers.Promise = (value) => {
    const { kind } = classify(value);
    if (kind !== "other" && kind !== "promise") return undefined;
    const ctx = ctxOf();
    const problem = problemOf(value, ctx);
    return problem ? reject(ctx, problem) : undefined;
  };
  return reducers;
}

// Synchronous calls share prebuilt reducers and operations that read the context of the call in progress
// (building ~8 closures per call was a third of the cost of serializing a small object). Nested calls (a class
// serializer that serializes) save and restore it.
let active: Context | undefined;
const activeContext = (): Context => active!;
let syncCache: { version: number; strict: DevalueReducers; lossy: DevalueReducers } | undefined;

function newContext(async: boolean, lossy: boolean): Context {
  const ctx: Context = {
    async,
    lossy,
    levels: new Levels(),
    reject: (problem: string, hint: string) => reject(ctx, { problem, hint }),
  };
  return ctx;
}

const syncOperations = { operations: stringifyOperations(activeContext) };

function syncReducers(lossy: boolean): DevalueReducers {
  if (!syncCache || syncCache.version !== registryVersion) {
    syncCache = {
      version: registryVersion,
      strict: buildReducers(activeContext, false, undefined),
      lossy: buildReducers(activeContext, true, undefined),
    };
  }
  return lossy ? syncCache.lossy : syncCache.strict;
}

function toSerializationError(error: unknown, root: string, ctx: Context): unknown {
  if (!(error instanceof DevalueError)) return error;
  const path = root + (error as DevalueError & { path: string }).path;
  const value = (error as DevalueError & { value: unknown }).value;
  if (value === SENTINEL && ctx.stash) return new SerializationError(path, ctx.stash.problem, ctx.stash.hint);
  const what = describe(value);
  const msg = error.message;
  if (msg.includes("function"))
    return new SerializationError(path, `${what} cannot be serialized`, HINTS.function);
  if (msg.includes("Symbol primitive"))
    return new SerializationError(path, `${what} cannot be serialized`, HINTS.symbol);
  if (msg.includes("Promise"))
    return new SerializationError(path, `${what} cannot be serialized`, HINTS.promise);
  if (msg.includes("symbolic keys")) {
    return new SerializationError(path, "an object with symbol keys cannot be serialized", HINTS.symbolKeys);
  }
  return new SerializationError(path, `${what} cannot be serialized`, HINTS.instance);
}

/** Serializes a value to a string. Request/Response with a body need `serializeAsync`. */
export function serialize(value: unknown, opts?: SerializeOptions): string {
  return serializeWith(value, opts, false);
}

function serializeWith(value: unknown, opts: SerializeOptions | undefined, lossy: boolean): string {
  const ctx = newContext(false, lossy);
  const outer = active;
  active = ctx;
  try {
    const reducers = opts?.reducers?.length
      ? buildReducers(activeContext, lossy, opts.reducers)
      : syncReducers(lossy);
    return stringify(value, reducers, syncOperations);
  } catch (error) {
    throw toSerializationError(error, opts?.path ?? "value", ctx);
  } finally {
    active = outer;
    if (!outer) resetClassifyCache();
  }
}

/** Like `serialize`, and also reads the bodies of Request and Response objects (from clones). */
export async function serializeAsync(value: unknown, opts?: SerializeOptions): Promise<string> {
  const ctx = newContext(true, false);
  const ctxOf = () => ctx;
  try {
    return await stringifyAsync(value, buildReducers(ctxOf, false, opts?.reducers), {
      operations: stringifyOperations(ctxOf),
    });
  } catch (error) {
    throw toSerializationError(error, opts?.path ?? "value", ctx);
  } finally {
    resetClassifyCache();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// deserialize

type Revivers = Record<string, (data: any) => unknown>;

const reviverCache = new WeakMap<object, { version: number; revivers: Revivers }>();

function buildRevivers(realm: typeof globalThis, extra: readonly Reducer[] | undefined): Revivers {
  const revivers: Revivers = {};
  for (const reducer of [...registered].reverse().concat(extra ?? [])) {
    revivers[reducer.tag] = (wrapped: unknown[]) => reducer.revive(wrapped[0], realm);
  }
  revivers.Error = (data: ErrorData) => dataToError(data, realm);
  revivers.Class = ([id, data]: [string, unknown]) => {
    const cls = findSerializableClass(id, realm);
    if (!cls) {
      throw new SerializationError(
        "value",
        `no serializable class is registered under the ID "${id}"`,
        `Call registerSerializableClass("${id}", TheClass) in this process (in the workflow bundle for values revived inside a workflow) before deserializing`,
        UNKNOWN_CLASS_SLUG,
      );
    }
    return (cls as unknown as Record<symbol, (d: unknown) => unknown>)[WORKFLOW_DESERIALIZE]!(data);
  };
  revivers.Headers = (data: HeadersData) => dataToHeaders(data, realm);
  revivers.Request = (data: RequestData) => dataToRequest(data, realm);
  revivers.Response = (data: ResponseData) => dataToResponse(data, realm);
  revivers.Unserializable = (what: string) => `[unserializable: ${what}]`;
  // A reviver is handed its data once that is complete: the data's level is closed (depth.ts).
  for (const tag of Object.keys(revivers)) {
    const revive = revivers[tag]!;
    revivers[tag] = (data: unknown) => {
      closeContainer(data);
      return revive(data);
    };
  }
  return revivers;
}

function revivers(realm: typeof globalThis, extra: readonly Reducer[] | undefined): Revivers {
  if (extra?.length) return buildRevivers(realm, extra);
  const hit = reviverCache.get(realm);
  if (hit && hit.version === registryVersion) return hit.revivers;
  const built = buildRevivers(realm, undefined);
  reviverCache.set(realm, { version: registryVersion, revivers: built });
  return built;
}

/** Revives a serialized value, building it from `opts.realm`'s constructors (default: this realm). */
export function deserialize(text: string, opts?: DeserializeOptions): unknown {
  const realm = opts?.realm ?? globalThis;
  const options = { operations: realmOperations(realm) };
  try {
    return withOpenContainers(() => parse(text, revivers(realm, opts?.reducers), options));
  } catch (error) {
    if (error instanceof SerializationError) throw error;
    if (error instanceof DepthExceeded) {
      throw new SerializationError(
        "value",
        `${depthProblem()}, so it was not revived`,
        `It was not produced by serialize(), which refuses such values; check where it was stored. ${DEPTH_HINT}`,
      );
    }
    throw new SerializationError(
      "value",
      `the serialized data could not be revived (${(error as Error)?.message ?? String(error)})`,
      "It was not produced by serialize() of this version, or it was modified; check where it was stored",
    );
  }
}

// ---------------------------------------------------------------------------------------------------------------
// errors

/**
 * Serializes any thrown value. Never throws: parts of an error that cannot be serialized (a socket in a property,
 * a function in `cause`) are replaced by "[unserializable: …]" strings, and as a last resort only name,
 * message and stack are kept.
 */
export function serializeError(err: unknown): string {
  try {
    return serializeWith(err, { path: "error" }, false);
  } catch {
    try {
      return serializeWith(err, { path: "error" }, true);
    } catch {
      const e = err as { name?: unknown; message?: unknown; stack?: unknown } | undefined;
      const fallback = new Error(String(e?.message ?? err));
      fallback.name = String(e?.name ?? "Error");
      fallback.stack = typeof e?.stack === "string" ? e.stack : fallback.stack;
      return serializeWith(fallback, { path: "error" }, true);
    }
  }
}

/** Revives a thrown value as an Error of `opts.realm`; a thrown non-error becomes an Error describing it. */
export function deserializeError(text: string, opts?: DeserializeOptions): Error {
  const value = deserialize(text, opts);
  if (classify(value).kind === "error") {
    resetClassifyCache();
    return value as Error;
  }
  resetClassifyCache();
  const realm = (opts?.realm ?? globalThis) as typeof globalThis;
  let message: string;
  if (typeof value === "string") message = value;
  else {
    try {
      message = `A non-Error value was thrown: ${JSON.stringify(value) ?? String(value)}`;
    } catch {
      message = `A non-Error value was thrown: ${describe(value)}`;
    }
  }
  const error = new realm.Error(message);
  Object.defineProperty(error, "thrown", { value, writable: true, configurable: true, enumerable: false });
  return error;
}
