/**
 * Code that runs INSIDE the shared workflow realm. `installRealmCode` is not called here: realm-install.ts
 * evaluates its source text (`Function.prototype.toString`) in the realm's context, so every function and object
 * it creates belongs to the realm, and workflow code that digs (`fn.constructor`, `Object.getPrototypeOf(x)`,
 * a caught error's `constructor`) only ever reaches the realm's own intrinsics, never the host's `Function`.
 *
 * Rules for this file, since its text is evaluated on its own:
 * - the function references nothing outside its own body (no imports, no module-level names); free identifiers
 *   (`Object`, `Reflect`, `Promise` …) are the realm's own globals;
 * - it starts with "use strict" (the module's implicit strictness does not travel with the text);
 * - only syntax that the TypeScript target emits as is (no decorators, no enums).
 *
 * Host capabilities come in through `caps` (host functions). They are never exposed: each is called through
 * `call`, which turns an error of the host realm into an error of this realm (a host error's `constructor`
 * would lead to the host's `Function`, and from there to `process`). What caps return is either a primitive, a
 * value the host built with this realm's constructors, or (for the web classes) a host object that stays
 * private to this code.
 *
 * What depends on the run (the clock, the two seeded random streams, the console, the microtask error handler,
 * structuredClone's target) is read from the host's "current run": workflow code only ever runs inside a run's
 * turn (sandbox.ts `enter`), so one shared Date or Math serves every run, including through
 * `new Date().constructor` or `Function("return Date.now()")()`.
 */

/* biome-ignore-all lint/complexity/useArrowFunction: realm functions are named and some are constructible */
/* biome-ignore-all lint/suspicious/noShadowRestrictedNames: the realm's Date, WeakRef, Function … must carry those names */

export interface RealmCaps {
  now(): number;
  random(): number;
  fillRandom(view: ArrayBufferView): void;
  randomUUID(): string;
  log(method: string, args: unknown[]): void;
  reportMicrotaskError(error: unknown): void;
  structuredClone(value: unknown): unknown;
  encode(text: string): Uint8Array;
  encodeInto(text: string, destination: Uint8Array): { read: number; written: number };
  atob(data: string): string;
  btoa(data: string): string;
  prepareStackTrace(error: unknown, frames: unknown[]): string;
  /** Rewrites `import(` in code compiled at run time (see bundle.ts): the source of an `eval`, or the parameter
   *  and body strings of a `Function`-like constructor of the given kind ("function", "async function", …). */
  withoutDynamicImport<T extends string | string[]>(source: T, kind: string): T;
  /** Runs the job the host queued for this turn (the entry point of sandbox.ts `enter`). */
  runJob(): void;
  /** The globalThis of the run whose turn it is. */
  runGlobal(): object;
  /** The host's digest of `data` (node:crypto algorithm name), as a Uint8Array of this realm. */
  digest(algorithm: string, data: ArrayBufferView): Uint8Array;
  /** The host's `Symbol.dispose` and `Symbol.asyncDispose` (Node 20 defines them in JavaScript, realm by realm). */
  disposeSymbols: { dispose: symbol | undefined; asyncDispose: symbol | undefined };
  web: WebCaps;
}

/** Host side of the web classes: every method takes and returns host objects, or primitives. */
export interface WebCaps {
  kinds: string[];
  members(kind: string): string[];
  statics(kind: string): string[];
  construct(kind: string, wrapper: object, args: unknown[]): object;
  kindOf(host: unknown): string | undefined;
  link(wrapper: object, host: object): void;
  get(host: object, name: string): unknown;
  set(host: object, name: string, value: unknown): void;
  call(host: object, name: string, args: unknown[]): unknown;
  callStatic(kind: string, name: string, args: unknown[]): unknown;
  /** Iteration snapshot, flattened: [key, value, key, value, …] for entries. */
  list(host: object, which: string): unknown[];
  reader(host: object): unknown;
  /** Reads a body this realm can read without I/O: a string (text, json) or a realm Uint8Array (arrayBuffer). */
  consume(host: object, method: string): unknown;
  hasBody(host: object): boolean;
  /** What `console.log` shows for the realm object (Node's `util.inspect` of the host object). */
  inspect(host: object, depth: unknown, options: unknown): string;
}

/** Realm functions the host uses to make values for workflow code (engine objects, hooks, stream handles). */
export interface RealmKit {
  /** A realm function calling `fn` (a host function): its errors become realm errors, and it may only return
   *  primitives or realm values (anything else is an internal error, reported as such). */
  guard<F extends (...args: any[]) => unknown>(fn: F, name?: string): F;
  /** A realm object with `record`'s own properties; function values are guarded. */
  object<T extends object>(record: T): T;
  /** `Promise.resolve(value).then(onFulfilled, onRejected)` with realm reactions: they run in the run's turn. */
  settle(value: unknown, onFulfilled: (v: unknown) => void, onRejected: (e: unknown) => void): void;
  /** Whether `value` is a primitive or belongs to this realm (by its prototype chain). */
  isRealmValue(value: unknown): boolean;
  /** The realm's own `eval`, for `Sandbox.evaluate`. */
  nativeEval: (code: string) => unknown;
}

export function installRealmCode(g: any, caps: RealmCaps): RealmKit {
  const ObjectProto = Object.prototype;
  const getProto = Object.getPrototypeOf;
  const define = Object.defineProperty;
  const apply = Reflect.apply;

  // --- Crossing the boundary ------------------------------------------------------------------------------------
  function isRealmValue(value: unknown): boolean {
    if ((typeof value !== "object" && typeof value !== "function") || value === null) return true;
    let root: object = value as object;
    for (let proto = getProto(root); proto !== null; proto = getProto(root)) root = proto;
    return root === ObjectProto || root === value;
  }
  const ERRORS: Record<string, ErrorConstructor> = {
    TypeError,
    RangeError,
    SyntaxError,
    ReferenceError,
    URIError,
    EvalError,
  };
  function toRealmError(error: unknown): unknown {
    if (isRealmValue(error)) return error;
    const source = error as Record<string, unknown>;
    let name = "Error";
    let message = "";
    try {
      if (typeof source.name === "string") name = source.name;
      message = typeof source.message === "string" ? source.message : String(source.message ?? "");
    } catch {}
    const converted = new (ERRORS[name] ?? Error)(message);
    if (converted.name !== name)
      define(converted, "name", { value: name, writable: true, configurable: true });
    try {
      for (const key of Object.keys(source)) {
        const v = source[key];
        if (v === null || (typeof v !== "object" && typeof v !== "function")) {
          define(converted, key, { value: v, writable: true, enumerable: true, configurable: true });
        }
      }
    } catch {}
    return converted;
  }
  function call(fn: (...args: any[]) => unknown, self: unknown, args: unknown[]): any {
    try {
      return apply(fn, self, args);
    } catch (error) {
      throw toRealmError(error);
    }
  }
  function guard(fn: (...args: any[]) => unknown, name = fn.name || "anonymous"): any {
    const holder = {
      [name](this: unknown, ...args: unknown[]) {
        const result = call(fn, this, args);
        if (!isRealmValue(result)) {
          throw new TypeError(
            `internal error of the workflow runtime: ${name}() returned an object of the host realm to workflow code`,
          );
        }
        return result;
      },
    };
    return holder[name];
  }
  const C: any = {};
  for (const key of Object.keys(caps)) {
    const cap = (caps as any)[key];
    if (typeof cap === "function") C[key] = (...args: unknown[]) => call(cap, undefined, args);
  }
  const W: any = {};
  for (const key of Object.keys(caps.web)) {
    const cap = (caps.web as any)[key];
    if (typeof cap === "function") W[key] = (...args: unknown[]) => call(cap, undefined, args);
  }
  function setFunction(target: any, name: string | symbol, fn: unknown, enumerable = false): void {
    define(target, name, { value: fn, writable: true, enumerable, configurable: true });
  }
  /** A global that throws; `whole`: `why` is the entire message (WDK's documented wording), else its reason. */
  function unavailable(name: string, why: string, whole = false): () => never {
    return {
      [name](): never {
        const error: any = new Error(whole ? why : `${name}() is not available in workflow code: ${why}`);
        error.code = "WORKFLOW_UNSUPPORTED_GLOBAL";
        throw error;
      },
    }[name]!;
  }

  // --- Clock: one Date for every run, reading the clock of the run whose turn it is ----------------------------
  const NativeDate = g.Date as DateConstructor;
  const dateToString = NativeDate.prototype.toString;
  // A function, not a class: Date() without `new` must return a string, as it does natively.
  const SandboxDate = function Date(this: unknown, ...args: unknown[]) {
    if (new.target === undefined) return apply(dateToString, new NativeDate(C.now()), []);
    return Reflect.construct(NativeDate, args.length === 0 ? [C.now()] : args, new.target);
  } as any;
  define(SandboxDate, "length", { value: 7 });
  define(SandboxDate, "prototype", { value: NativeDate.prototype });
  setFunction(SandboxDate, "now", function now() {
    return C.now();
  });
  setFunction(SandboxDate, "parse", NativeDate.parse);
  setFunction(SandboxDate, "UTC", NativeDate.UTC);
  setFunction(NativeDate.prototype, "constructor", SandboxDate);
  g.Date = SandboxDate;
  // Intl formats "now" when given no date: the run's now.
  const DateTimeFormatProto = g.Intl.DateTimeFormat.prototype;
  const nativeFormat = Object.getOwnPropertyDescriptor(DateTimeFormatProto, "format")!.get!;
  const nativeFormatToParts = DateTimeFormatProto.formatToParts;
  define(DateTimeFormatProto, "format", {
    configurable: true,
    get() {
      const format = apply(nativeFormat, this, []);
      return function (date?: unknown) {
        return format(date === undefined ? C.now() : date);
      };
    },
  });
  setFunction(DateTimeFormatProto, "formatToParts", function formatToParts(this: unknown, date?: unknown) {
    return apply(nativeFormatToParts, this, [date === undefined ? C.now() : date]);
  });

  // --- Randomness: the run's seeded streams ---------------------------------------------------------------------
  setFunction(g.Math, "random", function random() {
    return C.random();
  });
  const typedArrayTag = Object.getOwnPropertyDescriptor(getProto(Uint8Array.prototype), Symbol.toStringTag)!
    .get as () => string | undefined;
  const INTEGER_ARRAYS = [
    "Int8Array",
    "Uint8Array",
    "Uint8ClampedArray",
    "Int16Array",
    "Uint16Array",
    "Int32Array",
    "Uint32Array",
    "BigInt64Array",
    "BigUint64Array",
  ];
  const crypto = {};
  setFunction(
    crypto,
    "getRandomValues",
    function getRandomValues<T>(array: T): T {
      const tag = ArrayBuffer.isView(array) ? apply(typedArrayTag, array, []) : undefined;
      if (tag === undefined || !INTEGER_ARRAYS.includes(tag)) {
        throw new TypeError(
          `crypto.getRandomValues: the argument must be an integer typed array such as a Uint8Array${tag ? `, got a ${tag}` : ""}`,
        );
      }
      if ((array as ArrayBufferView).byteLength > 65536) {
        const error = new Error(
          `crypto.getRandomValues: ${(array as ArrayBufferView).byteLength} bytes requested; at most 65536 per call`,
        );
        define(error, "name", { value: "QuotaExceededError", writable: true, configurable: true });
        throw error;
      }
      C.fillRandom(array);
      return array;
    },
    true,
  );
  setFunction(
    crypto,
    "randomUUID",
    function randomUUID() {
      return C.randomUUID();
    },
    true,
  );
  // crypto.subtle: digests only. They are pure functions of their input, computed at once and handed back as a
  // settled promise, so a replay sees the same value at the same point; keys, signatures and ciphers belong in steps.
  const subtle = {};
  const DIGESTS: Record<string, string> = {
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
  };
  function bytesOf(data: unknown, what: string): Uint8Array {
    if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (data instanceof ArrayBuffer) return new Uint8Array(data);
    throw new TypeError(`${what}: the data must be an ArrayBuffer, a TypedArray or a DataView`);
  }
  setFunction(
    subtle,
    "digest",
    function digest(algorithm: unknown, data: unknown): Promise<ArrayBuffer> {
      return new Promise((resolve) => {
        const name =
          typeof algorithm === "string" ? algorithm : (algorithm as { name?: unknown } | null)?.name;
        const key = typeof name === "string" ? name.toUpperCase() : "";
        if (!Object.hasOwn(DIGESTS, key)) {
          const error = new Error(
            `crypto.subtle.digest: unsupported algorithm ${JSON.stringify(name)}; use SHA-1, SHA-256, SHA-384 or SHA-512`,
          );
          // Defined, not assigned: Error.prototype.name is frozen in the hardened realm.
          define(error, "name", { value: "NotSupportedError", writable: true, configurable: true });
          throw error;
        }
        const out: Uint8Array = C.digest(DIGESTS[key], bytesOf(data, "crypto.subtle.digest"));
        resolve(out.buffer as ArrayBuffer);
      });
    },
    true,
  );
  for (const name of [
    "encrypt",
    "decrypt",
    "sign",
    "verify",
    "generateKey",
    "deriveKey",
    "deriveBits",
    "importKey",
    "exportKey",
    "wrapKey",
    "unwrapKey",
  ]) {
    const refuse = unavailable(
      `crypto.subtle.${name}`,
      'keys, signatures and ciphers must run in a "use step" function; workflow code has crypto.subtle.digest only.',
    );
    setFunction(
      subtle,
      name,
      {
        [name]() {
          return new Promise(() => refuse());
        },
      }[name],
      true,
    );
  }
  define(crypto, "subtle", { value: subtle, enumerable: true, configurable: true });
  g.crypto = crypto;

  // --- Explicit resource management: `using` (lowered by the bundler) reads Symbol.dispose, which Node 20 adds to
  // the host's Symbol only; the realm shares the host's symbols so the disposers the runtime defines are found.
  const disposeSymbols = caps.disposeSymbols;
  if (typeof g.Symbol.dispose !== "symbol" && typeof disposeSymbols.dispose === "symbol") {
    define(g.Symbol, "dispose", { value: disposeSymbols.dispose });
  }
  if (typeof g.Symbol.asyncDispose !== "symbol" && typeof disposeSymbols.asyncDispose === "symbol") {
    define(g.Symbol, "asyncDispose", { value: disposeSymbols.asyncDispose });
  }

  // --- Uint8Array base64 and hex (ES2026), where the engine lacks them ------------------------------------------
  installUint8ArrayCodecs();

  // --- The run's console, microtasks, structuredClone -----------------------------------------------------------
  const console = {};
  for (const method of [
    "log",
    "info",
    "warn",
    "error",
    "debug",
    "trace",
    "dir",
    "dirxml",
    "table",
    "group",
    "groupCollapsed",
    "groupEnd",
    "time",
    "timeEnd",
    "timeLog",
    "count",
    "countReset",
    "assert",
  ]) {
    setFunction(
      console,
      method,
      {
        [method](...args: unknown[]) {
          C.log(method, args);
        },
      }[method],
      true,
    );
  }
  g.console = console;
  const resolved = Promise.resolve();
  g.queueMicrotask = function queueMicrotask(callback: unknown) {
    if (typeof callback !== "function")
      throw new TypeError("queueMicrotask: the callback must be a function");
    // An exception in the callback is reported to the engine instead of crashing the host process.
    resolved.then(() => {
      try {
        (callback as () => void)();
      } catch (error) {
        C.reportMicrotaskError(error);
      }
    });
  };
  g.structuredClone = function structuredClone(value: unknown) {
    return C.structuredClone(value);
  };

  // --- Globals that would break replay: present (feature detection and bundled libraries still load) but
  // throwing an error naming the fix. ------------------------------------------------------------------------------
  const TIMERS =
    'Timeout functions like "setTimeout" and "setInterval" are not supported in workflow functions. Use the ' +
    '"sleep" function from "workflow" for time-based delays: timers do not survive a restart or a replay. Or ' +
    'move the code into a "use step" function. (see docs: errors/timeout-in-workflow)';
  for (const name of [
    "setTimeout",
    "setInterval",
    "setImmediate",
    "clearTimeout",
    "clearInterval",
    "clearImmediate",
  ]) {
    g[name] = unavailable(name, TIMERS, true);
  }
  const fetchUnavailable = unavailable(
    "fetch",
    'Global "fetch" is unavailable in workflow functions. Use the "fetch" step function from "workflow" to make ' +
      "HTTP requests: network calls must run in a step so their result is recorded (import { fetch } from " +
      '"workflow", or globalThis.fetch = fetch for libraries), or call fetch inside a "use step" function. ' +
      "(see docs: errors/fetch-in-workflow)",
    true,
  );
  // `globalThis.fetch = fetch` (the workflow fetch step) is WDK's documented way to let libraries call fetch: the
  // run's globalThis then holds it, and the bare identifier, which resolves here in the shared realm, follows it.
  const sharedFetch = function fetch(this: unknown, ...args: unknown[]): unknown {
    const own = Object.getOwnPropertyDescriptor(C.runGlobal(), "fetch")?.value;
    if (typeof own === "function" && own !== sharedFetch) return apply(own, this, args);
    return fetchUnavailable();
  };
  g.fetch = sharedFetch;
  g.require = unavailable(
    "require",
    "workflow code runs without CommonJS or Node.js modules. Use import at the top of the file; Node.js APIs " +
      '(fs, net, child_process, …) can only be used inside "use step" functions.',
  );
  // What `import(…)` in workflow code calls instead (bundle.ts rewrites it): a rejection of this realm.
  const importUnavailable = unavailable(
    "import",
    "modules are loaded when the workflow bundle is built. Use a static import, or load the module inside a " +
      '"use step" function.',
  );
  g._mport = function _mport() {
    return new Promise((resolve) => resolve(importUnavailable()));
  };
  // Settled from outside any run's turn, at a time that differs between executions.
  setFunction(
    g.Atomics,
    "waitAsync",
    unavailable("Atomics.waitAsync", "it settles at a time that differs between replays."),
  );
  const NativeModule = g.WebAssembly.Module;
  const NativeInstance = g.WebAssembly.Instance;
  // V8 settles its asynchronous compile from a background task, outside any run's turn: compile synchronously, in
  // a microtask of the run.
  setFunction(g.WebAssembly, "compile", function compile(bytes: unknown) {
    return resolved.then(() => new NativeModule(bytes as BufferSource));
  });
  setFunction(g.WebAssembly, "instantiate", function instantiate(source: unknown, imports?: unknown) {
    return resolved.then(() => {
      if (source instanceof NativeModule) return new NativeInstance(source, imports as WebAssembly.Imports);
      const module = new NativeModule(source as BufferSource);
      return { module, instance: new NativeInstance(module, imports as WebAssembly.Imports) };
    });
  });
  for (const name of ["compileStreaming", "instantiateStreaming"]) {
    setFunction(
      g.WebAssembly,
      name,
      unavailable(`WebAssembly.${name}`, "streams are I/O; pass bytes instead."),
    );
  }

  // --- Garbage collection must not be observable: it happens at different times in every execution. -------------
  const canBeHeld = (value: unknown) =>
    (typeof value === "object" && value !== null) ||
    typeof value === "function" ||
    (typeof value === "symbol" && Symbol.keyFor(value) === undefined);
  g.WeakRef = class WeakRef<T extends object> {
    readonly #target: T;
    constructor(target: T) {
      if (!canBeHeld(target)) throw new TypeError("WeakRef: the target must be an object or a symbol");
      this.#target = target;
    }
    /** Holds its target strongly: a collected target would make replays differ. */
    deref(): T {
      return this.#target;
    }
    get [Symbol.toStringTag]() {
      return "WeakRef";
    }
  };
  g.FinalizationRegistry = class FinalizationRegistry {
    constructor(cleanup: unknown) {
      if (typeof cleanup !== "function")
        throw new TypeError("FinalizationRegistry: cleanup must be a function");
    }
    /** Never calls back: a callback would run outside the run, at a time that differs between replays. */
    register(target: unknown, _held?: unknown, token?: unknown) {
      if (!canBeHeld(target)) throw new TypeError("FinalizationRegistry.register: invalid target");
      if (token !== undefined && !canBeHeld(token)) {
        throw new TypeError("FinalizationRegistry.register: invalid unregister token");
      }
    }
    unregister(token: unknown) {
      if (!canBeHeld(token)) throw new TypeError("FinalizationRegistry.unregister: invalid unregister token");
      return false;
    }
    get [Symbol.toStringTag]() {
      return "FinalizationRegistry";
    }
  };

  // --- Code compiled at run time: the same `import(` rewrite as the bundle's. -----------------------------------
  const nativeEval = g.eval as (code: string) => unknown;
  g.eval = function evaluate(code: unknown) {
    return nativeEval(typeof code === "string" ? C.withoutDynamicImport(code, "script") : code);
  };
  define(g.eval, "name", { value: "eval" });
  const functionConstructors: [string, object][] = [
    ["function", Function],
    ["async function", getProto(async function () {}).constructor],
    ["function*", getProto(function* () {}).constructor],
    ["async function*", getProto(async function* () {}).constructor],
  ];
  for (const [kind, Native] of functionConstructors) {
    const Wrapped = function Function(this: unknown, ...args: unknown[]) {
      let strings = args.map((arg) => (typeof arg === "string" ? arg : String(arg)));
      if (strings.some((s) => s.includes("import"))) {
        const out = C.withoutDynamicImport(strings, kind);
        strings = strings.map((_, i) => String(out[i]));
      }
      return Reflect.construct(Native as new (...a: unknown[]) => unknown, strings);
    } as any;
    define(Wrapped, "name", { value: (Native as { name: string }).name });
    define(Wrapped, "length", { value: 1 });
    const proto = (Native as { prototype: object }).prototype;
    define(Wrapped, "prototype", { value: proto });
    setFunction(proto, "constructor", Wrapped);
    if (Native === Function) g.Function = Wrapped;
  }

  // --- Text and base64 ------------------------------------------------------------------------------------------
  g.TextEncoder = class TextEncoder {
    get encoding() {
      return "utf-8";
    }
    encode(input: unknown = "") {
      return C.encode(String(input));
    }
    encodeInto(source: unknown, destination: Uint8Array) {
      if (!(destination instanceof Uint8Array)) {
        throw new TypeError("TextEncoder.encodeInto: the destination must be a Uint8Array");
      }
      return C.encodeInto(String(source), destination);
    }
    get [Symbol.toStringTag]() {
      return "TextEncoder";
    }
  };
  g.atob = function atob(...args: unknown[]) {
    if (args.length === 0) throw new TypeError('The "data" argument must be specified');
    return C.atob(String(args[0]));
  };
  g.btoa = function btoa(...args: unknown[]) {
    if (args.length === 0) throw new TypeError('The "data" argument must be specified');
    return C.btoa(String(args[0]));
  };

  // --- Stream classes: named, not constructible ---------------------------------------------------------------
  // Libraries such as the AI SDK declare `class X extends TransformStream` or test `instanceof ReadableStream` when
  // their module loads, so the names must exist for the bundle to load at all. Reading or writing a stream is I/O,
  // which workflow code hands to steps (a step's streams and getWritable() are serialized as world streams).
  for (const name of [
    "ReadableStream",
    "WritableStream",
    "TransformStream",
    "ReadableStreamDefaultReader",
    "ReadableStreamBYOBReader",
    "WritableStreamDefaultWriter",
    "TextEncoderStream",
    "TextDecoderStream",
    "CompressionStream",
    "DecompressionStream",
    "ByteLengthQueuingStrategy",
    "CountQueuingStrategy",
  ]) {
    if (name in g) continue;
    const refuse = unavailable(
      name,
      `new ${name}() is not available in workflow code: streams are read and written in "use step" functions. ` +
        "Pass getWritable() or a stream to a step, or create the stream inside the step.",
      true,
    );
    g[name] = {
      [name]: class {
        constructor() {
          refuse();
        }
      },
    }[name];
  }

  // --- Web classes: realm classes forwarding to a private host object -------------------------------------------
  const HOST = new WeakMap<object, object>();
  const WRAPPER = new WeakMap<object, object>();
  const USED = new WeakSet<object>();
  const classes: Record<string, any> = {};
  const hostOf = (self: unknown, kind: string): object => {
    const host = typeof self === "object" && self !== null ? HOST.get(self) : undefined;
    if (host === undefined) throw new TypeError(`Illegal invocation: the receiver is not a ${kind}`);
    return host;
  };
  const adopt = (wrapper: object, host: object): object => {
    HOST.set(wrapper, host);
    WRAPPER.set(host, wrapper);
    W.link(wrapper, host);
    return wrapper;
  };
  const out = (value: unknown): unknown => {
    if ((typeof value !== "object" && typeof value !== "function") || value === null) return value;
    const known = WRAPPER.get(value as object);
    if (known) return known;
    // getAll(), getSetCookie(): a host array of strings.
    if (Array.isArray(value)) return Array.from(value as unknown[], out);
    const kind = W.kindOf(value);
    if (kind === undefined) {
      throw new TypeError(
        "internal error of the workflow runtime: a web API returned an object of the host realm",
      );
    }
    return adopt(Object.create(classes[kind].prototype), value as object);
  };
  const ITERATED = ["URLSearchParams", "Headers"];
  const BODIED = ["Request", "Response"];
  function* iterate(host: object, which: string): Generator<unknown> {
    const list = W.list(host, which);
    if (which === "entries") for (let i = 0; i < list.length; i += 2) yield [list[i], list[i + 1]];
    else for (let i = 0; i < list.length; i++) yield list[i];
  }
  const readBody = (self: unknown, kind: string, method: string): Promise<unknown> => {
    try {
      const host = hostOf(self, kind);
      const reader = W.reader(host);
      if (typeof reader === "function") return reader(self, method);
      if (method === "blob" || method === "formData") {
        throw new TypeError(
          `${kind}.${method}() is not available in workflow code; use text(), json() or arrayBuffer(), or read it in a step.`,
        );
      }
      if (USED.has(self as object)) throw new TypeError("Body is unusable: Body has already been read");
      USED.add(self as object);
      const body = W.consume(host, method === "json" ? "text" : method);
      return Promise.resolve(
        method === "json" ? JSON.parse(body) : method === "arrayBuffer" ? (body as Uint8Array).buffer : body,
      );
    } catch (error) {
      return Promise.reject(error);
    }
  };
  for (const kind of caps.web.kinds) {
    const Class = {
      [kind]: class {
        constructor(...args: unknown[]) {
          adopt(this, W.construct(kind, this, args));
        }
      },
    }[kind]!;
    const proto: any = Class.prototype;
    for (const member of caps.web.members(kind)) {
      const [name, type] = member.split(":") as [string, string];
      if (type === "method") {
        setFunction(
          proto,
          name,
          {
            [name](this: unknown, ...args: unknown[]) {
              return out(W.call(hostOf(this, kind), name, args));
            },
          }[name],
        );
      } else {
        define(proto, name, {
          configurable: true,
          enumerable: true,
          get: {
            [name](this: unknown) {
              return out(W.get(hostOf(this, kind), name));
            },
          }[name],
          set:
            type === "accessor"
              ? {
                  [name](this: unknown, value: unknown) {
                    W.set(hostOf(this, kind), name, value);
                  },
                }[name]
              : undefined,
        });
      }
    }
    for (const name of caps.web.statics(kind)) {
      setFunction(
        Class,
        name,
        {
          [name](...args: unknown[]) {
            return out(W.callStatic(kind, name, args));
          },
        }[name],
      );
    }
    if (ITERATED.includes(kind)) {
      for (const which of ["entries", "keys", "values"]) {
        setFunction(
          proto,
          which,
          {
            [which](this: unknown) {
              return iterate(hostOf(this, kind), which);
            },
          }[which],
        );
      }
      setFunction(proto, Symbol.iterator, proto.entries);
      setFunction(proto, "forEach", function forEach(this: unknown, callback: unknown, thisArg?: unknown) {
        if (typeof callback !== "function")
          throw new TypeError(`${kind}.forEach: the callback must be a function`);
        for (const [key, value] of iterate(hostOf(this, kind), "entries") as Iterable<[unknown, unknown]>) {
          apply(callback, thisArg, [value, key, this]);
        }
      });
    }
    if (BODIED.includes(kind)) {
      for (const method of ["text", "json", "arrayBuffer", "blob", "formData"]) {
        setFunction(
          proto,
          method,
          {
            [method](this: unknown) {
              return readBody(this, kind, method);
            },
          }[method],
        );
      }
      define(proto, "bodyUsed", {
        configurable: true,
        enumerable: true,
        get() {
          return USED.has(this) || W.get(hostOf(this, kind), "bodyUsed");
        },
      });
      define(proto, "body", {
        configurable: true,
        enumerable: true,
        get() {
          if (!W.hasBody(hostOf(this, kind))) return null;
          throw new TypeError(
            `${kind}.body is a stream, and reading a stream is I/O: use text(), json() or arrayBuffer(), or read it in a "use step" function.`,
          );
        },
      });
      setFunction(proto, "clone", function clone(this: unknown) {
        if (USED.has(this as object)) throw new TypeError(`${kind}.clone: the body has already been read`);
        return out(W.call(hostOf(this, kind), "clone", []));
      });
    }
    define(proto, Symbol.toStringTag, { value: kind, configurable: true });
    setFunction(
      proto,
      Symbol.for("nodejs.util.inspect.custom"),
      function inspect(this: unknown, depth: unknown, options: unknown) {
        return W.inspect(hostOf(this, kind), depth, options);
      },
    );
    classes[kind] = Class;
    g[kind] = Class;
  }

  // --- Stacks: source-mapped, and the same for every run --------------------------------------------------------
  const NativeError = g.Error;
  define(NativeError, "prepareStackTrace", {
    value: function prepareStackTrace(error: unknown, frames: unknown[]) {
      try {
        return caps.prepareStackTrace(error, frames);
      } catch {
        return "<stack unavailable>";
      }
    },
    writable: false,
    configurable: false,
  });

  // --- The host's entry into a run's turn (see sandbox.ts) ------------------------------------------------------
  define(g, Symbol.for("wfkit.enterRun"), {
    value: function enterRun() {
      caps.runJob();
    },
  });

  function installUint8ArrayCodecs(): void {
    const U8 = g.Uint8Array as any;
    const proto = U8.prototype;
    if (typeof proto.toBase64 === "function") return;
    const STD = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const URL_SAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const HEX_DIGITS = "0123456789abcdef";
    const isU8 = (v: unknown) => ArrayBuffer.isView(v) && apply(typedArrayTag, v, []) === "Uint8Array";
    const alphabetOf = (options: unknown, what: string): string => {
      const alphabet = (options as { alphabet?: unknown } | undefined)?.alphabet ?? "base64";
      if (alphabet !== "base64" && alphabet !== "base64url") {
        throw new TypeError(`${what}: alphabet must be "base64" or "base64url"`);
      }
      return alphabet === "base64" ? STD : URL_SAFE;
    };
    setFunction(proto, "toBase64", function toBase64(this: Uint8Array, options?: { omitPadding?: boolean }) {
      if (!isU8(this)) throw new TypeError("Uint8Array.prototype.toBase64 called on a non-Uint8Array");
      const chars = alphabetOf(options, "toBase64");
      let out = "";
      const n = this.length;
      let i = 0;
      for (; i + 2 < n; i += 3) {
        const v = (this[i]! << 16) | (this[i + 1]! << 8) | this[i + 2]!;
        out += chars[v >> 18]! + chars[(v >> 12) & 63]! + chars[(v >> 6) & 63]! + chars[v & 63]!;
      }
      const pad = !options?.omitPadding;
      if (n - i === 1) {
        const v = this[i]! << 16;
        out += chars[v >> 18]! + chars[(v >> 12) & 63]! + (pad ? "==" : "");
      } else if (n - i === 2) {
        const v = (this[i]! << 16) | (this[i + 1]! << 8);
        out += chars[v >> 18]! + chars[(v >> 12) & 63]! + chars[(v >> 6) & 63]! + (pad ? "=" : "");
      }
      return out;
    });
    setFunction(proto, "toHex", function toHex(this: Uint8Array) {
      if (!isU8(this)) throw new TypeError("Uint8Array.prototype.toHex called on a non-Uint8Array");
      let out = "";
      for (let i = 0; i < this.length; i++) out += HEX_DIGITS[this[i]! >> 4]! + HEX_DIGITS[this[i]! & 15]!;
      return out;
    });
    setFunction(
      U8,
      "fromBase64",
      function fromBase64(string: unknown, options?: { lastChunkHandling?: string }) {
        if (typeof string !== "string")
          throw new TypeError("Uint8Array.fromBase64: the input must be a string");
        const chars = alphabetOf(options, "Uint8Array.fromBase64");
        const handling = options?.lastChunkHandling ?? "loose";
        let text = string.replace(/[\t\n\f\r ]/g, "");
        let padding = 0;
        while (text.endsWith("=") && padding < 2) {
          text = text.slice(0, -1);
          padding++;
        }
        const rest = text.length % 4;
        if (rest === 1 || (padding > 0 && (text.length + padding) % 4 !== 0)) {
          throw new SyntaxError("Uint8Array.fromBase64: the input is not valid base64");
        }
        if (handling === "strict" && rest !== 0 && padding === 0) {
          throw new SyntaxError(
            "Uint8Array.fromBase64: the last chunk is incomplete (lastChunkHandling: strict)",
          );
        }
        const usable = handling === "stop-before-partial" && padding === 0 ? text.length - rest : text.length;
        const out = new U8(Math.floor((usable * 3) / 4));
        let bits = 0;
        let value = 0;
        let o = 0;
        for (let i = 0; i < usable; i++) {
          const d = chars.indexOf(text[i]!);
          if (d < 0)
            throw new SyntaxError(`Uint8Array.fromBase64: invalid character ${JSON.stringify(text[i])}`);
          value = (value << 6) | d;
          bits += 6;
          if (bits >= 8) {
            bits -= 8;
            out[o++] = (value >> bits) & 255;
          }
        }
        return o === out.length ? out : out.subarray(0, o);
      },
    );
    setFunction(U8, "fromHex", function fromHex(string: unknown) {
      if (typeof string !== "string") throw new TypeError("Uint8Array.fromHex: the input must be a string");
      if (string.length % 2 !== 0 || /[^0-9a-fA-F]/.test(string)) {
        throw new SyntaxError("Uint8Array.fromHex: the input must be an even number of hexadecimal digits");
      }
      const out = new U8(string.length / 2);
      for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(string.slice(i * 2, i * 2 + 2), 16);
      return out;
    });
    // Decode into an existing array: as many whole chunks as fit (3 bytes per 4 base64 characters, 1 per 2 hex
    // digits); `read` counts the characters consumed (whitespace inside the base64 input is not counted).
    setFunction(
      proto,
      "setFromBase64",
      function setFromBase64(this: Uint8Array, string: unknown, options?: { alphabet?: string }) {
        if (!isU8(this)) throw new TypeError("Uint8Array.prototype.setFromBase64 called on a non-Uint8Array");
        const bytes: Uint8Array = U8.fromBase64(string, options);
        if (bytes.length <= this.length) {
          this.set(bytes);
          return { read: (string as string).length, written: bytes.length };
        }
        const written = Math.floor(this.length / 3) * 3;
        this.set(bytes.subarray(0, written));
        return { read: (written / 3) * 4, written };
      },
    );
    setFunction(proto, "setFromHex", function setFromHex(this: Uint8Array, string: unknown) {
      if (!isU8(this)) throw new TypeError("Uint8Array.prototype.setFromHex called on a non-Uint8Array");
      if (typeof string !== "string") throw new TypeError("setFromHex: the input must be a string");
      const written = Math.min(this.length, Math.floor(string.length / 2));
      this.set(U8.fromHex(string.slice(0, written * 2)));
      return { read: written * 2, written };
    });
  }

  return {
    guard: guard as RealmKit["guard"],
    object<T extends object>(record: T): T {
      const target: any = {};
      for (const key of Reflect.ownKeys(record)) {
        let value = (record as any)[key];
        if (typeof value === "function") value = guard(value, typeof key === "string" ? key : undefined);
        if (!isRealmValue(value)) {
          throw new TypeError(`kit.object: the property ${String(key)} is an object of the host realm`);
        }
        define(target, key, { value, writable: true, enumerable: true, configurable: true });
      }
      return target;
    },
    settle(value, onFulfilled, onRejected) {
      Promise.resolve(value).then(
        (v) => {
          onFulfilled(v);
        },
        (e) => {
          onRejected(e);
        },
      );
    },
    isRealmValue,
    nativeEval,
  };
}
