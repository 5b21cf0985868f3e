/**
 * The deterministic sandbox of one workflow run (DESIGN §4.2): a scope in the process's one shared, hardened
 * `node:vm` realm (realm-install.ts explains the split and why).
 *
 * Cost (Node 20.20, 2-core machine): the shared realm is made once (a context, the stateless globals and the
 * freeze: a few ms); a run scope is a handful of small objects and closures (µs), and `run(script)` calls the
 * bundle's cached run function. A per-run V8 context used to cost ≈ 0.3–0.5 ms and ≈ 150 KiB per run.
 *
 * We use `vm.constants.DONT_CONTEXTIFY` where available: the context's global is then an ordinary object instead
 * of one behind interceptors forwarding to a host "sandbox" object. `microtaskMode: "afterEvaluate"` would run
 * the context's microtasks only after a script evaluation, so promises the engine resolves from host code would
 * not continue workflow code normally: the context keeps the host's microtask queue.
 *
 * What a shared realm changes for workflow code, compared with a realm of its own: built-in prototypes and
 * constructors are frozen (a polyfill that patches them throws in strict code); globals assigned through
 * `globalThis.x = …` are per run, but reachable as `globalThis.x`, not as a bare `x`; `new Date().constructor`
 * is the realm's native Date (use `Date`, which reads the run's clock).
 */
import { createHash } from "node:crypto";
import * as vm from "node:vm";
import { WORKFLOWS_KEY } from "../sandbox/abi.js";
import { deserialize, serialize } from "../serialization/index.js";
import { bundleScripts, compileRunFunction } from "./bundle.js";
import { createRunScope, installSharedRealm, type RunScope } from "./realm-install.js";
import { prepareStackTrace } from "./source-maps.js";

export interface SandboxOptions {
  /** Seed for Math.random, crypto.getRandomValues and crypto.randomUUID (use the run ID). */
  seed: string;
  /** Frozen copy exposed as process.env inside the sandbox (only `env`; `process` has nothing else but `env`).
   *  The copy is taken the first time a given object is passed and shared afterwards (see realm-install.ts). */
  env?: Record<string, string | undefined>;
  /** Extra globals installed before any code runs, e.g. the engine's [Symbol.for("wfkit.useStep")] and
   *  [Symbol.for("wfkit.runtime")]. Keys may be strings or symbols. */
  globals?: Record<string | symbol, unknown>;
  /** Initial sandbox time in epoch ms (default 0; the engine normally calls setTime before running code). */
  time?: number;
  /** Where the sandbox's console.* calls go (default the host console). The engine can pass a silent console
   *  while replaying so logs are not repeated on every replay. */
  console?: Partial<Console>;
  /** Called with an exception thrown by a queueMicrotask callback in workflow code (default: console.error). */
  onMicrotaskError?: (error: unknown) => void;
}

export interface Sandbox {
  /** The shared realm's context. Code evaluated directly in it runs outside any run's scope: use `evaluate`. */
  readonly context: vm.Context;
  /** This run's globalThis (the realm's Date, Map, Promise, Error … through its prototype, per-run bindings own). */
  readonly global: typeof globalThis & Record<string | symbol, unknown>;
  /** The time `Date.now()`/`new Date()` inside the sandbox report; the engine sets it to the createdAt of the event
   *  being replayed (or the current event while live). The sandbox clock never advances by itself. */
  setTime(epochMs: number): void;
  /** Runs a bundle made by `compileWorkflowBundle` in this run's scope (it registers workflows into
   *  globalThis[Symbol.for("wfkit.workflows")]). */
  run(script: vm.Script): void;
  /** Evaluates source text in this run's scope and returns its completion value (tests, diagnostics). */
  evaluate(code: string): unknown;
  /** The registered workflow function (from the sandbox's wfkit.workflows map), or undefined. */
  getWorkflow(workflowId: string): ((...args: unknown[]) => unknown) | undefined;
}

const DONT_CONTEXTIFY = (vm.constants as unknown as { DONT_CONTEXTIFY?: unknown } | undefined)
  ?.DONT_CONTEXTIFY;

let shared: { context: vm.Context; global: Sandbox["global"] } | undefined;

/** The process's one workflow realm, made and hardened on first use. */
function sharedRealm(): { context: vm.Context; global: Sandbox["global"] } {
  if (shared) return shared;
  let context: vm.Context;
  let global: Sandbox["global"];
  if (DONT_CONTEXTIFY !== undefined) {
    // With DONT_CONTEXTIFY, createContext returns the new realm's global object itself, usable as a context.
    global = vm.createContext(DONT_CONTEXTIFY as never) as Sandbox["global"];
    context = global;
  } else {
    context = vm.createContext({});
    global = vm.runInContext("globalThis", context);
  }
  installSharedRealm(global, {
    structuredClone: structuredCloneInto,
    prepareStackTrace: prepareStackTrace as never,
  });
  // Runs inherit from a plain, frozen copy of the global's properties rather than from the global object
  // itself: V8 caches lookups along ordinary prototype chains, while lookups that reach a global object stay
  // slow, and the engine reads realm constructors (Array, Date, Error, Promise…) for every value it hands in.
  const base = Object.create(Object.getPrototypeOf(global)) as Sandbox["global"];
  for (const key of Reflect.ownKeys(global)) {
    Object.defineProperty(base, key, Object.getOwnPropertyDescriptor(global, key)!);
  }
  Object.freeze(base);
  shared = { context, global: base };
  return shared;
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

/** Direct eval inside a run function: sees the run's bindings, returns the completion value. */
const EVALUATOR = "return eval(arguments[arguments.length - 1]);";

/** 8 uint32 words from the seed string: two independent 128-bit sfc32 states. */
function seedWords(seed: string): number[] {
  const digest = createHash("sha256").update(seed).digest();
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push(digest.readUInt32LE(i * 4));
  return words;
}

function structuredCloneInto(value: unknown, realm: typeof globalThis): unknown {
  // Through our serializer rather than the host's structuredClone so the copy is built from the sandbox's own
  // constructors (a host structuredClone would hand workflow code host Dates and Maps).
  return deserialize(serialize(value, { path: "structuredClone(value)" }), { realm });
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
  const hostConsole = opts.console ?? console;
  const realm = sharedRealm();
  const scope: RunScope = createRunScope(realm.global, {
    time,
    seed: seedWords(opts.seed),
    env: opts.env,
    console: hostConsole,
    onMicrotaskError:
      opts.onMicrotaskError ??
      ((error: unknown) =>
        hostConsole.error?.("Uncaught error in a queueMicrotask callback of workflow code:", error)),
    structuredClone: structuredCloneInto,
  });
  const global = scope.global as Sandbox["global"];
  if (opts.globals) {
    for (const key of Reflect.ownKeys(opts.globals)) {
      Object.defineProperty(global, key, {
        value: (opts.globals as Record<string | symbol, unknown>)[key],
        writable: true,
        configurable: true,
        enumerable: true,
      });
    }
  }

  return {
    context: realm.context,
    global,
    setTime(epochMs: number) {
      if (!Number.isFinite(epochMs)) {
        throw new TypeError(`Sandbox.setTime: expected a finite epoch-ms number, got ${String(epochMs)}`);
      }
      scope.setTime(epochMs);
    },
    run(script: vm.Script) {
      runFunctionOf(script, realm.context).apply(undefined, scope.values);
    },
    evaluate(code: string) {
      evaluator ??= compileRunFunction(EVALUATOR, "workflow-sandbox-evaluate");
      return runFunctionOf(evaluator, realm.context).apply(undefined, [...scope.values, code]);
    },
    getWorkflow(workflowId: string) {
      const registry = global[WORKFLOWS_KEY] as Map<string, (...args: unknown[]) => unknown> | undefined;
      const fn = registry?.get(workflowId);
      return typeof fn === "function" ? fn : undefined;
    },
  };
}

let evaluator: vm.Script | undefined;
