/**
 * The process-wide engine behind `start()` and `getRun()`. Configure it before the first run starts;
 * changing anything but the code provider afterwards replaces the engine (runs the old one drives keep
 * their leases until they expire and are then taken over by `resumePendingRuns()`).
 */
import type { World } from "@wfkit/world";
import type { CodeProvider } from "../engine/code-provider.js";
import { Engine, type EngineOptions } from "../engine/engine.js";
import { type LogLevel, type LogSink, setLogger, setLogLevel } from "../observability/logger.js";
import { worldFromEnv } from "./world-selection.js";

export interface RuntimeOptions {
  world?: World;
  codeProvider?: CodeProvider;
  maxConcurrentSteps?: number;
  /** Runs driven at once in this process (default: no limit); see EngineOptions. */
  maxActiveRuns?: number;
  ownerId?: string;
  /** First retry back-off in ms (default 1000); tests make it small. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  leaseTtlMs?: number;
  /** Where background errors of runs go (default: the logger, at `error`). */
  onError?: (error: unknown, runId: string) => void;
  /**
   * Where the runtime's log records go (default stderr): a function taking each record, or a logger object with
   * error/warn/info/debug methods. Process-wide, like `WORKFLOW_LOG_LEVEL`. See `observability/logger.ts`.
   */
  logger?: LogSink;
  /** Overrides `WORKFLOW_LOG_LEVEL` (silent, error, warn, info, debug). */
  logLevel?: LogLevel;
  /** False: `start()` only records runs, for workers elsewhere to execute (see `startWorker`). */
  executeRuns?: boolean;
}

let options: RuntimeOptions = {};
let engine: Engine | undefined;
let perWorld = new WeakMap<World, Engine>();

export function configureRuntime(opts: RuntimeOptions): void {
  const { logger, logLevel, ...rest } = opts;
  if ("logger" in opts) setLogger(logger);
  if ("logLevel" in opts) setLogLevel(logLevel);
  if (Object.keys(rest).length === 0 && Object.keys(opts).length > 0) return;
  opts = rest;
  const onlyCode = Object.keys(opts).every((k) => k === "codeProvider");
  options = { ...options, ...opts };
  if (onlyCode && opts.codeProvider) {
    if (engine) engine.codeProvider = opts.codeProvider;
    return;
  }
  engine?.close();
  engine = undefined;
  perWorld = new WeakMap();
}

function engineOptions(world: EngineOptions["world"]): EngineOptions {
  const { world: _ignored, ...rest } = options;
  // On a serverless world the queue's invocations execute runs (serverless/invocation.ts); an app process that
  // executed them too would hold their leases while its function is frozen.
  if (
    rest.executeRuns === undefined &&
    process.env.WORKFLOW_EXECUTE_RUNS === undefined &&
    servesByQueue(world)
  )
    rest.executeRuns = false;
  return { ...rest, world };
}

function servesByQueue(world: EngineOptions["world"]): boolean {
  return typeof world === "function"
    ? process.env.WORKFLOW_TARGET_WORLD?.trim() === "vercel"
    : world.name === "vercel";
}

/** The process-wide engine; its world is opened on first use (WORKFLOW_TARGET_WORLD unless configured). */
export function getEngine(): Engine {
  engine ??= new Engine(engineOptions(options.world ?? (() => worldFromEnv())));
  return engine;
}

/** The engine for an explicit world (`start(wf, args, { world })`): one per world, same options. */
export function engineForWorld(world: World): Engine {
  if (options.world === world) return getEngine();
  let e = perWorld.get(world);
  if (!e) {
    e = new Engine(engineOptions(world));
    perWorld.set(world, e);
  }
  return e;
}
