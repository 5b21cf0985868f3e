/**
 * The deterministic workflow realm, in two halves (DESIGN §4.2):
 *
 * - `installSharedRealm` runs ONCE per process on one `node:vm` context that every run shares: it adds the
 *   stateless globals (TextEncoder, URL, the throwing timers/fetch/require, …), installs the source-mapping
 *   `Error.prepareStackTrace`, and then hardens the realm (freezes every intrinsic and the global object), so
 *   no run can leave state behind for another.
 * - `createRunScope` runs per run and builds the bindings that carry per-run state: a seeded `Math`, a `Date`
 *   reading the run's clock, seeded `crypto`, the frozen `process.env`, the run's console, and the run's own
 *   `globalThis` (an object whose prototype is the shared global, so writes stay per run). The workflow bundle
 *   is compiled as a function of exactly these names (bundle.ts), so its code sees the per-run values through
 *   ordinary lexical scope.
 *
 * Why not one context per run: creating a V8 context costs ≈ 0.3–0.5 ms and ≈ 150 KiB, which bounded a burst
 * of short runs at ≈ 900 runs/s and ≈ 300 MiB; a run scope costs a few µs and a few hundred bytes.
 *
 * Everything is installed from HOST code with host-created functions (hot, optimised code). What matters is that
 * the VALUES they return and the errors they throw are built with the realm's constructors (`new g.Uint8Array`,
 * `new g.TypeError`), so `instanceof` holds inside workflow code.
 *
 * Math.random and crypto use sfc32, a small, fast PRNG with a 128-bit state that passes PractRand; it is
 * hand-written (a dozen lines) because it must be seedable and produce the same sequence on every Node version,
 * which rules out V8's own generator, and no library is needed for something this small. Math.random and crypto
 * draw from two independent streams so adding a `randomUUID()` call does not shift every later `Math.random()`.
 */

type Realm = Record<string | symbol, any>;

export interface SharedRealmOptions {
  structuredClone(value: unknown, realm: typeof globalThis): unknown;
  prepareStackTrace(error: unknown, frames: never[]): string;
}

export interface RunScopeOptions {
  time: number;
  /** 8 uint32 words: two sfc32 states. */
  seed: number[];
  env?: Record<string, string | undefined>;
  console: Partial<Console>;
  onMicrotaskError(error: unknown): void;
  structuredClone(value: unknown, realm: typeof globalThis): unknown;
}

/**
 * The names a workflow bundle's code sees as per-run bindings, in the order `createRunScope` returns their
 * values. bundle.ts compiles every bundle as `(function (<these names>) { … })`.
 */
export const RUN_SCOPE_NAMES = [
  "globalThis",
  "Math",
  "Date",
  "crypto",
  "process",
  "console",
  "queueMicrotask",
  "structuredClone",
] as const;

export interface RunScope {
  /** The run's own globalThis: own per-run bindings, everything else inherited from the shared realm. */
  global: Realm;
  /** Values for RUN_SCOPE_NAMES, in order. */
  values: unknown[];
  setTime(epochMs: number): void;
}

function sfc32(a: number, b: number, c: number, d: number): () => number {
  const next = () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 12; i++) next(); // mix the seed words before the first output
  return next;
}

const typedArrayTag = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Uint8Array.prototype),
  Symbol.toStringTag,
)!.get as (this: unknown) => string | undefined;
const INTEGER_ARRAYS = new Set([
  "Int8Array",
  "Uint8Array",
  "Uint8ClampedArray",
  "Int16Array",
  "Uint16Array",
  "Int32Array",
  "Uint32Array",
  "BigInt64Array",
  "BigUint64Array",
]);
const HEX = Array.from({ length: 256 }, (_, i) => (i + 256).toString(16).slice(1));

const TIMERS_FIX =
  'timers do not survive a restart or a replay. Use await sleep("5s") from "workflow" for durable delays, ' +
  'or move the code into a "use step" function.';
const UNAVAILABLE: [string, string][] = [
  ["setTimeout", TIMERS_FIX],
  ["setInterval", TIMERS_FIX],
  ["setImmediate", TIMERS_FIX],
  ["clearTimeout", TIMERS_FIX],
  ["clearInterval", TIMERS_FIX],
  ["clearImmediate", TIMERS_FIX],
  [
    "fetch",
    "network calls must run in a step so their result is recorded. Use " +
      'import { fetch } from "workflow" (a step that performs fetch), or call fetch inside a "use step" function.',
  ],
  [
    "require",
    "workflow code runs without CommonJS or Node.js modules. Use import at the top of the file; Node.js APIs " +
      '(fs, net, child_process, …) can only be used inside "use step" functions.',
  ],
];

const CONSOLE_METHODS = [
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
] as const;

const hostEncoder = new TextEncoder();

const EMPTY_PROCESS = Object.freeze({ env: Object.freeze({}) });
const processByEnv = new WeakMap<object, object>();

/**
 * `{ env }` with a frozen copy of `env`, taken the first time that env object is seen and then shared by every
 * sandbox given the same object (it is deeply frozen, so sharing cannot leak state between runs). Copying
 * `process.env` costs ~20 µs per sandbox (each read goes through its interceptor), a tenth of a sandbox's cost.
 * Later changes to the same object are therefore not seen; pass a new object to change what sandboxes see.
 */
function frozenProcessFor(env: Record<string, string | undefined> | undefined): object {
  if (!env) return EMPTY_PROCESS;
  let process = processByEnv.get(env);
  if (!process) {
    const copy: Record<string, string> = {};
    for (const key of Object.keys(env)) {
      const value = env[key];
      if (value !== undefined) copy[key] = String(value);
    }
    process = Object.freeze({ env: Object.freeze(copy) });
    processByEnv.set(env, process);
  }
  return process;
}

export function createRunScope(shared: Realm, opts: RunScopeOptions): RunScope {
  // --- Clock: Date reads the time the engine sets; it never advances by itself. ---------------------------------
  let clock = opts.time;
  const NativeDate = shared.Date as DateConstructor;
  const nativeToString = NativeDate.prototype.toString;
  // A function, not a class: Date() without `new` must still return a string, as it does natively. Its
  // prototype is the realm's own Date.prototype, so every date, whoever made it, is an `instanceof Date`.
  // biome-ignore lint/suspicious/noShadowRestrictedNames: the sandbox's Date must be named Date (Date.name)
  const SandboxDate = function Date(...args: unknown[]) {
    if (new.target === undefined) return nativeToString.call(new NativeDate(clock));
    return Reflect.construct(NativeDate, args.length === 0 ? [clock] : args, new.target);
  } as unknown as Realm;
  Object.defineProperty(SandboxDate, "length", { value: 7 });
  SandboxDate.prototype = NativeDate.prototype;
  SandboxDate.now = () => clock;
  SandboxDate.parse = NativeDate.parse;
  SandboxDate.UTC = NativeDate.UTC;

  // --- Seeded randomness ----------------------------------------------------------------------------------------
  const s = opts.seed;
  const nextRandom = sfc32(s[0]!, s[1]!, s[2]!, s[3]!);
  const nextCrypto = sfc32(s[4]!, s[5]!, s[6]!, s[7]!);
  // The shared Math is frozen; the run's Math inherits every function from it and owns `random`.
  const SandboxMath = Object.create(shared.Math);
  Object.defineProperty(SandboxMath, "random", {
    // 53 random bits, like V8's own Math.random.
    value: () => ((nextRandom() >>> 5) * 67108864 + (nextRandom() >>> 6)) / 9007199254740992,
    writable: true,
    configurable: true,
  });

  const getRandomValues = <T>(array: T): T => {
    const tag = ArrayBuffer.isView(array) ? typedArrayTag.call(array) : undefined;
    if (tag === undefined || !INTEGER_ARRAYS.has(tag)) {
      throw new shared.TypeError(
        `crypto.getRandomValues: the argument must be an integer typed array such as a Uint8Array${tag ? `, got a ${tag}` : ""}`,
      );
    }
    const view = array as unknown as Uint8Array;
    if (view.byteLength > 65536) {
      const error = new shared.Error(
        `crypto.getRandomValues: ${view.byteLength} bytes requested; at most 65536 per call`,
      ) as Error;
      error.name = "QuotaExceededError";
      throw error;
    }
    const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    const n = bytes.length;
    for (let i = 0; i < n; i += 4) {
      const w = nextCrypto();
      bytes[i] = w;
      if (i + 1 < n) bytes[i + 1] = w >>> 8;
      if (i + 2 < n) bytes[i + 2] = w >>> 16;
      if (i + 3 < n) bytes[i + 3] = w >>> 24;
    }
    return array;
  };
  const uuidBytes = new Uint8Array(16);
  const randomUUID = (): string => {
    const b = getRandomValues(uuidBytes);
    b[6] = (b[6]! & 0x0f) | 0x40; // version 4
    b[8] = (b[8]! & 0x3f) | 0x80; // RFC 4122 variant
    const h = (i: number) => HEX[b[i]!]!;
    return `${h(0)}${h(1)}${h(2)}${h(3)}-${h(4)}${h(5)}-${h(6)}${h(7)}-${h(8)}${h(9)}-${h(10)}${h(11)}${h(12)}${h(13)}${h(14)}${h(15)}`;
  };
  const crypto = { getRandomValues, randomUUID };

  const { onMicrotaskError } = opts;
  const queueMicrotaskInRun = (callback: unknown) => {
    if (typeof callback !== "function")
      throw new shared.TypeError("queueMicrotask: the callback must be a function");
    // An exception in the callback is reported to the engine instead of crashing the host process.
    queueMicrotask(() => {
      try {
        callback();
      } catch (error) {
        onMicrotaskError(error);
      }
    });
  };

  const hostConsole = opts.console as Record<string, unknown>;
  const sandboxConsole: Record<string, (...args: unknown[]) => void> = {};
  for (const method of CONSOLE_METHODS) {
    sandboxConsole[method] = (...args: unknown[]) => {
      const fn = hostConsole[method];
      if (typeof fn === "function") fn.apply(hostConsole, args);
    };
  }

  const global = Object.create(shared) as Realm;
  const { structuredClone: clone } = opts;
  const values = [
    global,
    SandboxMath,
    SandboxDate,
    crypto,
    frozenProcessFor(opts.env),
    sandboxConsole,
    queueMicrotaskInRun,
    (value: unknown) => clone(value, global as typeof globalThis),
  ];
  // The same bindings as own properties of the run's globalThis, for code that reads `globalThis.Date`.
  for (let i = 0; i < RUN_SCOPE_NAMES.length; i++) {
    Object.defineProperty(global, RUN_SCOPE_NAMES[i]!, {
      value: values[i],
      writable: true,
      configurable: true,
    });
  }
  return {
    global,
    values,
    setTime(ms: number) {
      clock = ms;
    },
  };
}

/** Adds the stateless globals and hardens the realm. Call once, on a fresh context's global. */
export function installSharedRealm(g: Realm, opts: SharedRealmOptions): void {
  // --- Globals that would break replay: present (so feature detection and bundled libraries still load) but
  // throwing a clear error naming the fix when called. ------------------------------------------------------------
  for (const [name, why] of UNAVAILABLE) {
    g[name] = () => {
      const error = new g.Error(`${name}() is not available in workflow code: ${why}`);
      error.code = "WORKFLOW_UNSUPPORTED_GLOBAL";
      throw error;
    };
  }

  const RealmUint8Array = g.Uint8Array as Uint8ArrayConstructor;
  g.TextEncoder = class TextEncoder {
    get encoding() {
      return "utf-8";
    }
    encode(input: unknown = "") {
      const bytes = hostEncoder.encode(String(input));
      const out = new RealmUint8Array(bytes.length);
      out.set(bytes);
      return out;
    }
    encodeInto(source: unknown, destination: Uint8Array) {
      const { read, written } = hostEncoder.encodeInto(String(source), destination);
      return { read, written };
    }
  };
  g.TextDecoder = TextDecoder;
  g.URL = URL;
  g.URLSearchParams = URLSearchParams;
  // The fetch types, as WDK's docs use them in workflow code: `createWebhook({ respondWith: new Response(…) })`,
  // `request.respondWith(new Response(…))`. Building one is deterministic; the body of a request handed in
  // by a webhook is read through a step (builtin-steps.ts).
  g.Headers = Headers;
  g.Request = Request;
  g.Response = Response;
  g.atob = atob;
  g.btoa = btoa;
  g.Error.prepareStackTrace = opts.prepareStackTrace;
  harden(g);
}

/**
 * Freezes everything reachable from the realm's global object (values, accessors, prototypes), then the global
 * itself: what one run could change there (`Array.prototype.x = …`) would otherwise be seen by every other run,
 * and by a replay of the same run in another process that never saw the change. Writes through a run's
 * `globalThis` are unaffected (they land on the run's own object). The `Error` constructor stays writable, as
 * libraries set `Error.stackTraceLimit`; what they put there is shared but cannot change results.
 */
function harden(g: Realm): void {
  const seen = new Set<unknown>([g.Error]);
  const visit = (value: unknown): void => {
    if ((typeof value !== "object" && typeof value !== "function") || value === null || seen.has(value))
      return;
    seen.add(value);
    Object.freeze(value);
    visit(Object.getPrototypeOf(value));
    for (const key of Reflect.ownKeys(value as object)) {
      const d = Object.getOwnPropertyDescriptor(value, key);
      if (!d) continue;
      if ("value" in d) visit(d.value);
      visit(d.get);
      visit(d.set);
    }
  };
  // Intrinsics that no global property names: iterator, generator and async function prototypes.
  const hidden = [
    Object.getPrototypeOf(g.Array.prototype[Symbol.iterator].call([])),
    Object.getPrototypeOf(new g.Map().entries()),
    Object.getPrototypeOf(new g.Set().values()),
    Object.getPrototypeOf(g.String.prototype[Symbol.iterator].call("")),
    Object.getPrototypeOf(g.RegExp.prototype[Symbol.matchAll].call(new g.RegExp("a"), "")),
    g.eval("Object.getPrototypeOf(function* () {})"),
    g.eval("Object.getPrototypeOf(async function () {})"),
    g.eval("Object.getPrototypeOf(async function* () {})"),
  ];
  for (const key of Reflect.ownKeys(g)) {
    if (key === "globalThis") continue;
    const d = Object.getOwnPropertyDescriptor(g, key);
    if (d && "value" in d) visit(d.value);
  }
  for (const intrinsic of hidden) visit(intrinsic);
  visit(g.Error.prototype);
  for (const key of Reflect.ownKeys(g.Error)) {
    const d = Object.getOwnPropertyDescriptor(g.Error, key);
    if (d && "value" in d && key !== "prepareStackTrace") visit(d.value);
  }
  Object.freeze(g);
}
