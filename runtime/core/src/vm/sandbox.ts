/**
 * One deterministic `node:vm` realm per workflow run (DESIGN §4.2).
 *
 * Cost (Node 20.20 on the shared 2-core machine, steady state): createSandbox ≈ 350 µs, of which creating the V8
 * context is ≈ 310 µs, installing the realm ≈ 28 µs, seeding ≈ 8 µs; run(script) of a small bundle ≈ 9 µs; a
 * whole short run (sandbox, bundle, args in, workflow, result out) ≈ 430 µs on one core. Each live sandbox holds
 * ≈ 150 KiB of heap (a bare context is ≈ 140 KiB), and dropped sandboxes are collected (no growth over 5,000
 * runs). So the context itself is the cost; hold only the sandboxes of runs that are likely to continue soon.
 *
 * We use `vm.constants.DONT_CONTEXTIFY` where available: the context's global is then an ordinary object instead
 * of one behind interceptors forwarding to a host "sandbox" object; it was ≈ 25 % cheaper to create and makes
 * every global lookup by workflow code a plain property access. `microtaskMode: "afterEvaluate"` brought no
 * speed-up and would run the context's microtasks only after a script evaluation, so promises the engine
 * resolves from host code would not continue workflow code normally: contexts keep the host's microtask queue.
 */
import { createHash } from "node:crypto";
import * as vm from "node:vm";
import { WORKFLOWS_KEY } from "../sandbox/abi.js";
import { deserialize, serialize } from "../serialization/index.js";
import { installRealm } from "./realm-install.js";
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
  readonly context: vm.Context;
  /** The sandbox's own globalThis (its realm's Date, Map, Promise, Error …). */
  readonly global: typeof globalThis & Record<string | symbol, unknown>;
  /** The time `Date.now()`/`new Date()` inside the sandbox report; the engine sets it to the createdAt of the event
   *  being replayed (or the current event while live). The sandbox clock never advances by itself. */
  setTime(epochMs: number): void;
  /** Runs a compiled bundle in this realm (it registers workflows into globalThis[Symbol.for("wfkit.workflows")]). */
  run(script: vm.Script): void;
  /** The registered workflow function (from the sandbox's wfkit.workflows map), or undefined. */
  getWorkflow(workflowId: string): ((...args: unknown[]) => unknown) | undefined;
}

const DONT_CONTEXTIFY = (vm.constants as unknown as { DONT_CONTEXTIFY?: unknown } | undefined)
  ?.DONT_CONTEXTIFY;

function newContext(): { context: vm.Context; global: Sandbox["global"] } {
  if (DONT_CONTEXTIFY !== undefined) {
    // With DONT_CONTEXTIFY, createContext returns the new realm's global object itself, usable as a context.
    const global = vm.createContext(DONT_CONTEXTIFY as never) as Sandbox["global"];
    return { context: global, global };
  }
  const context = vm.createContext({});
  return { context, global: vm.runInContext("globalThis", context) };
}

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
  const { context, global } = newContext();
  const controls = installRealm(global, {
    time,
    seed: seedWords(opts.seed),
    env: opts.env,
    console: hostConsole,
    onMicrotaskError:
      opts.onMicrotaskError ??
      ((error: unknown) =>
        hostConsole.error?.("Uncaught error in a queueMicrotask callback of workflow code:", error)),
    structuredClone: structuredCloneInto,
    prepareStackTrace: prepareStackTrace as never,
  });
  if (opts.globals) {
    for (const key of Reflect.ownKeys(opts.globals)) {
      global[key] = (opts.globals as Record<string | symbol, unknown>)[key];
    }
  }

  return {
    context,
    global,
    setTime(epochMs: number) {
      if (!Number.isFinite(epochMs)) {
        throw new TypeError(`Sandbox.setTime: expected a finite epoch-ms number, got ${String(epochMs)}`);
      }
      controls.setTime(epochMs);
    },
    run(script: vm.Script) {
      script.runInContext(context);
    },
    getWorkflow(workflowId: string) {
      const registry = global[WORKFLOWS_KEY] as Map<string, (...args: unknown[]) => unknown> | undefined;
      const fn = registry?.get(workflowId);
      return typeof fn === "function" ? fn : undefined;
    },
  };
}
