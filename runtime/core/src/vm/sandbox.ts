/**
 * The deterministic sandbox of one workflow run (DESIGN §4.2): a scope in the process's one shared, hardened
 * `node:vm` realm (realm-install.ts explains the split and why).
 *
 * Cost (Node 20.20, 2-core machine): the shared realm is made once (a context, the realm's own code and the
 * freeze: a few ms); a run scope is one object (the run's globalThis). A per-run V8 context used to cost
 * ≈ 0.3–0.5 ms and ≈ 150 KiB per run, which bounded a burst of short runs at ≈ 900 runs/s and ≈ 300 MiB.
 *
 * Turns. The realm has its own microtask queue (`microtaskMode: "afterEvaluate"`), so workflow code runs only
 * inside `Sandbox.enter(fn)`: `fn` (host code that calls the workflow function, or settles one of its promises)
 * runs with this run current, then the realm's microtasks run until none is left, all within the time limit of
 * time-limit.ts. Host code must therefore settle promises of the realm only inside `enter`: anything settled
 * outside would run in whatever run's turn comes next.
 *
 * We use `vm.constants.DONT_CONTEXTIFY` where available: the context's global is then an ordinary object instead
 * of one behind interceptors forwarding to a host "sandbox" object.
 *
 * What a shared realm changes for workflow code, compared with a realm of its own: built-in prototypes and
 * constructors (`Error` included: `Error.stackTraceLimit` and `Error.prepareStackTrace` are fixed) are frozen
 * (a polyfill that patches them throws in strict code); globals assigned through `globalThis.x = …` are per run,
 * but reachable as `globalThis.x`, not as a bare `x`.
 */
import { createHash } from "node:crypto";
import * as vm from "node:vm";
import { lookupFunction } from "../engine/legacy-ids.js";
import { WORKFLOWS_KEY } from "../sandbox/abi.js";
import { deserialize, serialize } from "../serialization/index.js";
import { bundleScripts } from "./bundle.js";
import { withoutDynamicImport } from "./dynamic-import.js";
import type { RealmKit } from "./realm-code.js";
import { installSharedRealm, type RunState, setCurrentRun, sfc32 } from "./realm-install.js";
import { prepareStackTrace } from "./source-maps.js";
import { queueTurn, runTurn, type Turn, timeLimitFromEnv, WorkflowTimeoutError } from "./time-limit.js";

export type { RealmKit } from "./realm-code.js";

export interface SandboxOptions {
  /** Seed for Math.random, crypto.getRandomValues and crypto.randomUUID (use the run ID). */
  seed: string;
  /** Frozen copy exposed as process.env inside the sandbox (only `env`; `process` has nothing else but `env`).
   *  The copy is taken the first time a given object is passed and shared afterwards. */
  env?: Record<string, string | undefined>;
  /**
   * Extra globals of the run, installed before any code runs, e.g. the engine's [Symbol.for("wfkit.useStep")]
   * and [Symbol.for("wfkit.runtime")]. Keys may be strings or symbols. A host function becomes a realm function
   * calling it (its errors become realm errors; it may only return primitives and realm values, see
   * `Sandbox.kit`); a plain host object becomes a realm object whose functions are converted the same way;
   * primitives and realm values are installed as they are.
   */
  globals?: Record<string | symbol, unknown>;
  /** Initial sandbox time in epoch ms (default 0; the engine normally calls setTime before running code). */
  time?: number;
  /** Where the sandbox's console.* calls go (default the host console). The engine can pass a silent console
   *  while replaying so logs are not repeated on every replay. */
  console?: Partial<Console>;
  /** Called with an exception thrown by a queueMicrotask callback in workflow code (default: console.error). */
  onMicrotaskError?: (error: unknown) => void;
  /** Bound of one turn of workflow code (`enter`), in ms; 0 for none. Default `WORKFLOW_CODE_TIMEOUT_MS`, else
   *  5000. */
  timeLimitMs?: number;
}

export interface Sandbox {
  /** The shared realm's context. Code evaluated directly in it runs outside any run: use `evaluate`. */
  readonly context: vm.Context;
  /** This run's globalThis (the realm's Date, Map, Promise, Error … through its prototype, per-run bindings own). */
  readonly global: typeof globalThis & Record<string | symbol, unknown>;
  /** Builds values of the realm for workflow code out of host functions and records. */
  readonly kit: RealmKit;
  /** Set once a turn ran longer than the time limit: the run's code was stopped and cannot continue. */
  readonly timedOut: boolean;
  /** The time `Date.now()`/`new Date()` inside the sandbox report; the engine sets it to the createdAt of the event
   *  being replayed (or the current event while live). The sandbox clock never advances by itself. */
  setTime(epochMs: number): void;
  /**
   * One turn of this run: runs `fn`, then the workflow code it woke up, until that waits again. Returns what `fn`
   * returns and rethrows what it throws; throws `WorkflowTimeoutError` when the turn exceeded the time limit.
   */
  enter<T>(fn: () => T): T;
  /**
   * The same turn, run at the next `setImmediate` together with the turns other runs queued meanwhile (arming the
   * time limit is the expensive part of a turn, so turns share it). Resolves once the code waits again.
   */
  turn<T>(fn: () => T): Promise<T>;
  /** Runs a bundle made by `compileWorkflowBundle` in this run's scope (it registers workflows into
   *  globalThis[Symbol.for("wfkit.workflows")]): within the turn in progress, else in a turn of its own. */
  run(script: vm.Script): void;
  /** Evaluates source text (strict) in this run's scope and returns its completion value (tests, diagnostics). */
  evaluate(code: string): unknown;
  /** The registered workflow function (from the sandbox's wfkit.workflows map), or undefined. */
  getWorkflow(workflowId: string): ((...args: unknown[]) => unknown) | undefined;
}

const DONT_CONTEXTIFY = (vm.constants as unknown as { DONT_CONTEXTIFY?: unknown } | undefined)
  ?.DONT_CONTEXTIFY;

type Global = Sandbox["global"];

interface SharedRealm {
  context: vm.Context;
  /** What every run's globalThis inherits from. */
  base: Global;
  kit: RealmKit;
}

let shared: SharedRealm | undefined;
/** The globalThis objects of runs: `realmKitOf` recognises them. */
const runGlobals = new WeakSet<object>();

/** The process's one workflow realm, made and hardened on first use. */
function sharedRealm(): SharedRealm {
  if (shared) return shared;
  const options = { microtaskMode: "afterEvaluate" as const };
  let context: vm.Context;
  let global: Global;
  if (DONT_CONTEXTIFY !== undefined) {
    // With DONT_CONTEXTIFY, createContext returns the new realm's global object itself, usable as a context.
    global = vm.createContext(DONT_CONTEXTIFY as never, options) as Global;
    context = global;
  } else {
    context = vm.createContext({}, options);
    global = vm.runInContext("globalThis", context);
  }
  const kit = installSharedRealm(context, global, {
    structuredClone: structuredCloneInto,
    prepareStackTrace: prepareStackTrace as never,
  });
  // Runs inherit from a plain, frozen copy of the global's properties rather than from the global object
  // itself: V8 caches lookups along ordinary prototype chains, while lookups that reach a global object stay
  // slow, and the engine reads realm constructors (Array, Date, Error, Promise…) for every value it hands in.
  const base = Object.create(Object.getPrototypeOf(global)) as Global;
  for (const key of Reflect.ownKeys(global)) {
    Object.defineProperty(base, key, Object.getOwnPropertyDescriptor(global, key)!);
  }
  Object.freeze(base);
  shared = { context, base, kit };
  return shared;
}

/** The kit of the workflow realm, when `realm` is the globalThis of one of its runs (else undefined). */
export function realmKitOf(realm: object): RealmKit | undefined {
  return runGlobals.has(realm) ? shared?.kit : undefined;
}

/** Each bundle script evaluated once in the shared realm into its run function. */
const runFunctions = new WeakMap<vm.Script, (...scope: unknown[]) => unknown>();

function runFunctionOf(script: vm.Script, context: vm.Context): (...scope: unknown[]) => unknown {
  let fn = runFunctions.get(script);
  if (!fn) {
    if (!bundleScripts.has(script)) {
      throw new TypeError(
        "Sandbox.run: the script must come from compileWorkflowBundle(), which compiles it as a function of the run's scope",
      );
    }
    fn = script.runInContext(context) as (...scope: unknown[]) => unknown;
    runFunctions.set(script, fn);
  }
  return fn;
}

/**
 * Direct eval in the run's scope. Sloppy on purpose: only there may a parameter be named `eval`, and a call of a
 * binding named `eval` that holds the realm's own eval is a direct eval (the realm's global `eval` is a wrapper,
 * realm-code.ts). The evaluated code itself starts with "use strict".
 */
const EVALUATOR = new vm.Script("(function (globalThis, process, eval, code) { return eval(code); })", {
  filename: "workflow-sandbox-evaluate",
});
let evaluator: ((...args: unknown[]) => unknown) | undefined;

/** 8 uint32 words from the seed string: two independent 128-bit sfc32 states. */
function seedWords(seed: string): number[] {
  const digest = createHash("sha256").update(seed).digest();
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push(digest.readUInt32LE(i * 4));
  return words;
}

function structuredCloneInto(value: unknown, realm: object): unknown {
  // Through our serializer rather than the host's structuredClone so the copy is built from the sandbox's own
  // constructors (a host structuredClone would hand workflow code host Dates and Maps).
  return deserialize(serialize(value, { path: "structuredClone(value)" }), {
    realm: realm as typeof globalThis,
  });
}

const processByEnv = new WeakMap<object, object>();
let emptyProcess: object | undefined;

/**
 * `{ env }` of the realm with a frozen copy of `env`, taken the first time that env object is seen and then
 * shared by every sandbox given the same object (it is deeply frozen, so sharing cannot leak state between
 * runs). Copying `process.env` costs ~20 µs per sandbox (each read goes through its interceptor), a tenth of a
 * sandbox's cost. Later changes to the same object are therefore not seen; pass a new object to change what
 * sandboxes see.
 */
function frozenProcessFor(realm: Global, env: Record<string, string | undefined> | undefined): object {
  const make = (source: Record<string, string | undefined>) => {
    const copy = new realm.Object() as Record<string, string>;
    for (const key of Object.keys(source)) {
      const value = source[key];
      if (value === undefined) continue;
      Object.defineProperty(copy, key, { value: String(value), enumerable: true });
    }
    const process = new realm.Object();
    Object.defineProperty(process, "env", { value: Object.freeze(copy), enumerable: true });
    return Object.freeze(process);
  };
  if (!env) {
    emptyProcess ??= make({});
    return emptyProcess;
  }
  let process = processByEnv.get(env);
  if (!process) {
    process = make(env);
    processByEnv.set(env, process);
  }
  return process;
}

/** A host value as a global of the run (see `SandboxOptions.globals`). */
function toRealmGlobal(kit: RealmKit, key: string | symbol, value: unknown): unknown {
  if (typeof value === "function" && !kit.isRealmValue(value)) {
    return kit.guard(value as (...args: unknown[]) => unknown, typeof key === "string" ? key : undefined);
  }
  if (kit.isRealmValue(value)) return value;
  if (Object.getPrototypeOf(value) === Object.prototype) return kit.object(value as object);
  throw new TypeError(
    `createSandbox: the global ${String(key)} is an object of the host realm; pass a function, a plain object of functions, or a value of the workflow realm`,
  );
}

export function createSandbox(opts: SandboxOptions): Sandbox {
  if (!opts || typeof opts.seed !== "string") {
    throw new TypeError(
      "createSandbox: opts.seed must be a string (use the run ID) so randomness replays identically",
    );
  }
  const time = opts.time ?? 0;
  if (!Number.isFinite(time))
    throw new TypeError(`createSandbox: opts.time must be a finite epoch-ms number, got ${time}`);
  const limitMs = opts.timeLimitMs ?? timeLimitFromEnv();
  if (!Number.isInteger(limitMs) || limitMs < 0) {
    throw new TypeError(
      `createSandbox: opts.timeLimitMs must be a whole number of ms (0: none), got ${limitMs}`,
    );
  }
  const hostConsole = opts.console ?? console;
  const realm = sharedRealm();
  const { kit } = realm;
  const global = Object.create(realm.base) as Global;
  const process = frozenProcessFor(global, opts.env);
  Object.defineProperty(global, "globalThis", { value: global, writable: true, configurable: true });
  Object.defineProperty(global, "process", { value: process, writable: true, configurable: true });
  // WDK's documented pattern `globalThis.fetch = fetch` (the workflow fetch step, for libraries such as the AI SDK
  // that read the global): an own, writable property, since assigning over the frozen inherited one would throw.
  Object.defineProperty(global, "fetch", {
    value: (realm.base as Record<string, unknown>).fetch,
    writable: true,
    configurable: true,
  });
  if (opts.globals) {
    for (const key of Reflect.ownKeys(opts.globals)) {
      Object.defineProperty(global, key, {
        value: toRealmGlobal(kit, key, (opts.globals as Record<string | symbol, unknown>)[key]),
        writable: true,
        configurable: true,
        enumerable: true,
      });
    }
  }
  runGlobals.add(global);
  const s = seedWords(opts.seed);
  const state: RunState = {
    clock: time,
    nextRandom: sfc32(s[0]!, s[1]!, s[2]!, s[3]!),
    nextCrypto: sfc32(s[4]!, s[5]!, s[6]!, s[7]!),
    console: hostConsole,
    onMicrotaskError:
      opts.onMicrotaskError ??
      ((error: unknown) =>
        hostConsole.error?.("Uncaught error in a queueMicrotask callback of workflow code:", error)),
    global,
  };
  let timedOut = false;
  /** A turn of this run is in progress. */
  let inTurn = false;

  /** A turn running `fn` as this run; `settle` reads how it went once it ran (or was stopped). */
  const prepare = <T>(fn: () => T): { turn: Turn; settle(outcome: string): T } => {
    let result: T | undefined;
    let failure: { error: unknown } | undefined;
    const turn: Turn = {
      begin() {
        setCurrentRun(state);
        inTurn = true;
      },
      run() {
        try {
          result = fn();
        } catch (error) {
          failure = { error };
        }
      },
      end() {
        inTurn = false;
        setCurrentRun(undefined);
      },
    };
    return {
      turn,
      settle(outcome) {
        if (outcome === "timed-out") {
          timedOut = true;
          throw new WorkflowTimeoutError(limitMs);
        }
        if (failure) throw failure.error;
        return result as T;
      },
    };
  };
  const enter = <T>(fn: () => T): T => {
    if (timedOut) throw new WorkflowTimeoutError(limitMs);
    const { turn, settle } = prepare(fn);
    return settle(runTurn(realm.context, turn, limitMs));
  };
  const turn = async <T>(fn: () => T): Promise<T> => {
    if (timedOut) throw new WorkflowTimeoutError(limitMs);
    const prepared = prepare(() => (timedOut ? undefined : fn()));
    const outcome = await queueTurn(realm.context, prepared.turn, limitMs);
    if (timedOut && outcome === "done") throw new WorkflowTimeoutError(limitMs);
    return prepared.settle(outcome) as T;
  };

  return {
    context: realm.context,
    global,
    kit,
    get timedOut() {
      return timedOut;
    },
    setTime(epochMs: number) {
      if (!Number.isFinite(epochMs)) {
        throw new TypeError(`Sandbox.setTime: expected a finite epoch-ms number, got ${String(epochMs)}`);
      }
      state.clock = epochMs;
    },
    enter,
    turn,
    run(script: vm.Script) {
      const runBundle = () => runFunctionOf(script, realm.context).call(undefined, global, process);
      if (inTurn) runBundle();
      else enter(runBundle);
    },
    evaluate(code: string) {
      evaluator ??= EVALUATOR.runInContext(realm.context) as (...args: unknown[]) => unknown;
      const source = `"use strict";\n${withoutDynamicImport(code)}`;
      return enter(() => evaluator!(global, process, kit.nativeEval, source));
    },
    getWorkflow(workflowId: string) {
      const registry = global[WORKFLOWS_KEY] as Map<string, (...args: unknown[]) => unknown> | undefined;
      // A run recorded before IDs took WDK's scheme finds its workflow under the current ID (legacy-ids.ts).
      const fn = lookupFunction(registry, workflowId);
      return typeof fn === "function" ? fn : undefined;
    },
  };
}

export { WorkflowTimeoutError };
