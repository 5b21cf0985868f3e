/**
 * The deterministic workflow realm (DESIGN §4.2), host side.
 *
 * `installSharedRealm` runs ONCE per process on the one `node:vm` context every run shares: it evaluates the
 * realm's own code (realm-code.ts) with the host capabilities below, then hardens the realm (freezes every
 * intrinsic, `Error` included, and the global object), so no run can leave state behind for another.
 *
 * Nothing of the host realm is installed in the workflow realm: every function workflow code can reach was
 * created by code compiled in the context, and what it gets back is a primitive or a value of the realm.
 * Hardening checks it: meeting one of the host's intrinsics while freezing is an internal error (freezing it
 * would freeze the application's own `Object.prototype`).
 *
 * Per-run state (the clock, two seeded random streams, the console, the microtask error handler, the run's
 * globalThis) is the "current run": sandbox.ts makes a run current for each of its turns, and the realm's shared
 * Date, Math.random, crypto, console, queueMicrotask and structuredClone read it. A run scope (the run's
 * globalThis) is then a single object, and a burst of runs costs no per-run closures.
 *
 * Math.random and crypto use sfc32, a small, fast PRNG with a 128-bit state that passes PractRand; it is
 * hand-written (a dozen lines) because it must be seedable and produce the same sequence on every Node version,
 * which rules out V8's own generator, and no library is needed for something this small. Math.random and crypto
 * draw from two independent streams so adding a `randomUUID()` call does not shift every later `Math.random()`.
 */
import { createHash } from "node:crypto";
import * as vm from "node:vm";
import { functionWithoutDynamicImport, withoutDynamicImport } from "./dynamic-import.js";
import { installRealmCode, type RealmCaps, type RealmKit } from "./realm-code.js";
import { webCaps } from "./realm-web.js";
import { runJob } from "./time-limit.js";

type Realm = Record<string | symbol, any>;

export interface SharedRealmOptions {
  /** Copies `value` into `realm` (a run's globalThis) through the serializer. */
  structuredClone(value: unknown, realm: object): unknown;
  prepareStackTrace(error: unknown, frames: never[]): string;
}

/** What the realm reads for the run whose turn it is. */
export interface RunState {
  clock: number;
  nextRandom: () => number;
  nextCrypto: () => number;
  console: Partial<Console>;
  onMicrotaskError(error: unknown): void;
  /** The run's globalThis. */
  global: object;
}

let current: RunState | undefined;

/** Makes `state` the current run (undefined: none) and returns the previous one. */
export function setCurrentRun(state: RunState | undefined): RunState | undefined {
  const previous = current;
  current = state;
  return previous;
}

function run(what: string): RunState {
  if (!current) {
    throw new Error(
      `${what} was called outside of any workflow run: the workflow realm's clock, randomness and console belong ` +
        "to the run whose code is running, and no run's code is running now.",
    );
  }
  return current;
}

export function sfc32(a: number, b: number, c: number, d: number): () => number {
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

const HEX = Array.from({ length: 256 }, (_, i) => (i + 256).toString(16).slice(1));
const hostEncoder = new TextEncoder();

function fill(bytes: Uint8Array, next: () => number): void {
  const n = bytes.length;
  for (let i = 0; i < n; i += 4) {
    const w = next();
    bytes[i] = w;
    if (i + 1 < n) bytes[i + 1] = w >>> 8;
    if (i + 2 < n) bytes[i + 2] = w >>> 16;
    if (i + 3 < n) bytes[i + 3] = w >>> 24;
  }
}

function caps(g: Realm, opts: SharedRealmOptions): RealmCaps {
  const RealmUint8Array = g.Uint8Array as Uint8ArrayConstructor;
  const realmBytes = (bytes: Uint8Array) => {
    const out = new RealmUint8Array(bytes.length);
    out.set(bytes);
    return out;
  };
  const uuid = new Uint8Array(16);
  return {
    now: () => run("Date.now()").clock,
    // 53 random bits, like V8's own Math.random.
    random() {
      const next = run("Math.random()").nextRandom;
      return ((next() >>> 5) * 67108864 + (next() >>> 6)) / 9007199254740992;
    },
    fillRandom(view) {
      fill(
        new Uint8Array(view.buffer, view.byteOffset, view.byteLength),
        run("crypto.getRandomValues()").nextCrypto,
      );
    },
    randomUUID() {
      fill(uuid, run("crypto.randomUUID()").nextCrypto);
      const b = uuid;
      b[6] = (b[6]! & 0x0f) | 0x40; // version 4
      b[8] = (b[8]! & 0x3f) | 0x80; // RFC 4122 variant
      const h = (i: number) => HEX[b[i]!]!;
      return `${h(0)}${h(1)}${h(2)}${h(3)}-${h(4)}${h(5)}-${h(6)}${h(7)}-${h(8)}${h(9)}-${h(10)}${h(11)}${h(12)}${h(13)}${h(14)}${h(15)}`;
    },
    log(method, args) {
      const target = run(`console.${method}()`).console as Record<string, unknown>;
      const fn = target[method];
      if (typeof fn === "function") fn.apply(target, args);
    },
    reportMicrotaskError(error) {
      run("queueMicrotask()").onMicrotaskError(error);
    },
    structuredClone: (value) => opts.structuredClone(value, run("structuredClone()").global),
    encode: (text) => realmBytes(hostEncoder.encode(text)),
    encodeInto(text, destination) {
      const { read, written } = hostEncoder.encodeInto(text, destination);
      const result = new g.Object();
      result.read = read;
      result.written = written;
      return result;
    },
    atob: (data) => atob(data),
    btoa: (data) => btoa(data),
    prepareStackTrace: opts.prepareStackTrace as RealmCaps["prepareStackTrace"],
    withoutDynamicImport: ((source: string | string[], kind: string) =>
      typeof source === "string"
        ? withoutDynamicImport(source)
        : functionWithoutDynamicImport(source, kind)) as RealmCaps["withoutDynamicImport"],
    runJob,
    runGlobal: () => run("fetch()").global,
    digest: (algorithm, data) =>
      realmBytes(
        createHash(algorithm)
          .update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
          .digest(),
      ),
    disposeSymbols: {
      dispose: (Symbol as { dispose?: symbol }).dispose,
      asyncDispose: (Symbol as { asyncDispose?: symbol }).asyncDispose,
    },
    web: webCaps(realmBytes),
  };
}

/** Adds the realm's own code and hardens the realm. Call once, on a fresh context. */
export function installSharedRealm(context: vm.Context, g: Realm, opts: SharedRealmOptions): RealmKit {
  const install = vm.runInContext(`(${installRealmCode.toString()})`, context, {
    filename: "wfkit:workflow-realm",
  }) as typeof installRealmCode;
  const kit = install(g, caps(g, opts));
  harden(context, g);
  return kit;
}

/**
 * Freezes everything reachable from the realm's global object (values, accessors, prototypes), then the global
 * itself: what one run could change there (`Array.prototype.x = …`, `Error.prepareStackTrace = …`) would
 * otherwise be seen by every other run, and by a replay of the same run in another process that never saw the
 * change. Writes through a run's `globalThis` are unaffected (they land on the run's own object).
 */
function harden(context: vm.Context, g: Realm): void {
  const host = new Set<unknown>([Object.prototype, Function.prototype, Object, Function]);
  const seen = new Set<unknown>();
  const visit = (value: unknown): void => {
    if ((typeof value !== "object" && typeof value !== "function") || value === null || seen.has(value))
      return;
    if (host.has(value)) {
      throw new Error(
        "internal error of the workflow runtime: an object of the host realm was installed in the workflow realm",
      );
    }
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
  enablePropertyOverrides(context, g);
  // Intrinsics that no global property names: iterator, generator and async function prototypes.
  const hidden = [
    Object.getPrototypeOf(g.Array.prototype[Symbol.iterator].call([])),
    Object.getPrototypeOf(new g.Map().entries()),
    Object.getPrototypeOf(new g.Set().values()),
    Object.getPrototypeOf(g.String.prototype[Symbol.iterator].call("")),
    Object.getPrototypeOf(g.RegExp.prototype[Symbol.matchAll].call(new g.RegExp("a"), "")),
    vm.runInContext("Object.getPrototypeOf(function* () {})", context),
    vm.runInContext("Object.getPrototypeOf(async function () {})", context),
    vm.runInContext("Object.getPrototypeOf(async function* () {})", context),
    vm.runInContext("Object.getPrototypeOf((function* () {})())", context),
  ];
  for (const key of Reflect.ownKeys(g)) {
    if (key === "globalThis") continue;
    const d = Object.getOwnPropertyDescriptor(g, key);
    if (d && "value" in d) visit(d.value);
  }
  for (const intrinsic of hidden) visit(intrinsic);
  Object.freeze(g);
}

/**
 * Freezing a prototype makes its properties read-only for every object that inherits them, so the ordinary
 * `obj.toString = …` or `Sub.prototype.constructor = …` of libraries (zod, the AI SDK) would throw in strict code
 * (the "override mistake" of frozen intrinsics). The properties libraries assign this way become accessors:
 * reading gives the frozen value, assigning through an inheriting object gives that object its own property, and
 * assigning on the intrinsic itself still fails. The accessors are compiled in the realm, never host functions.
 */
const OVERRIDABLE = ["constructor", "toString", "toLocaleString", "valueOf", "name", "message", "toJSON"];

function enablePropertyOverrides(context: vm.Context, g: Realm): void {
  const makeOverridable = vm.runInContext(
    `(() => {
      const { defineProperty, getOwnPropertyDescriptor } = Object;
      const hasOwn = Object.prototype.hasOwnProperty;
      return function makeOverridable(target, key) {
        const d = getOwnPropertyDescriptor(target, key);
        if (!d || !("value" in d) || !d.writable || !d.configurable) return;
        const value = d.value;
        defineProperty(target, key, {
          get() { return value; },
          set(next) {
            if (this === target) {
              throw new TypeError("Cannot assign to read only property '" + String(key) + "' of a frozen intrinsic of the workflow sandbox");
            }
            if (hasOwn.call(this, key)) this[key] = next;
            else defineProperty(this, key, { value: next, writable: true, enumerable: true, configurable: true });
          },
          enumerable: d.enumerable,
          configurable: false,
        });
      };
    })()`,
    context,
    { filename: "wfkit:workflow-realm" },
  ) as (target: object, key: PropertyKey) => void;
  const objectProto = g.Object.prototype as object;
  const functionProto = Object.getPrototypeOf(g.Object) as object;
  // Every member of Object.prototype (`hasOwnProperty`, `isPrototypeOf`, … are assigned on plain objects too);
  // elsewhere only the usual names, so `fn.call(…)` and `array.push(…)` stay plain data properties.
  for (const key of Reflect.ownKeys(objectProto)) makeOverridable(objectProto, key);
  for (const name of OVERRIDABLE) makeOverridable(functionProto, name);
  for (const key of Reflect.ownKeys(g)) {
    const d = Object.getOwnPropertyDescriptor(g, key);
    const ctor = d && "value" in d ? d.value : undefined;
    if (typeof ctor !== "function") continue;
    const proto = (ctor as { prototype?: unknown }).prototype;
    if (typeof proto !== "object" || proto === null || proto === objectProto || proto === functionProto)
      continue;
    for (const name of OVERRIDABLE) makeOverridable(proto, name);
  }
}
