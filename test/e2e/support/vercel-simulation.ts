/**
 * The simulated serverless deployment the Vercel e2e tests share: the Build Output's functions, each invocation a
 * fresh Node process killed with SIGKILL at its maxDuration, the loopback stand-in of Vercel Queues, Postgres.
 */
import type { ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { World } from "@wfkit/world";
import { createPostgresWorld } from "@wfkit/world-postgres";
import { getTestDatabase, type TestDatabase } from "@wfkit/world-postgres/testing";
import { FLOW_TOPIC } from "@wfkit/world-vercel";
import { freshProcessInvoker, type QueueService, startQueueService } from "@wfkit/world-vercel/testing";
import { afterEach } from "vitest";

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * One invocation's budget, and the hard kill of its process: the difference is the room for the process's cold
 * start (Node, the 1.5 MB function bundle), which the platform's maxDuration does not count on Vercel either.
 */
export const BUDGET_MS = 2_000;
export const MAX_DURATION_MS = 4_000;

export const FLOW = ".vercel/output/functions/.well-known/workflow/v1/flow.func";
export const ROUTER = ".vercel/output/functions/.well-known/workflow/v1/router.func";
export const TICK = ".vercel/output/functions/.well-known/workflow/v1/tick.func";

export interface Simulation {
  db: TestDatabase;
  service: QueueService;
  world: World;
  env: Record<string, string>;
  /** The functions' environment (read at each invocation: a test may add to it). */
  functionEnv: Record<string, string>;
  outputs: Map<number, string>;
  cleanup(): Promise<void>;
}

const cleanups: (() => Promise<void> | void)[] = [];

/** What a test file registers to be undone after each test (simulations register themselves); call it once. */
export function useCleanups(): (() => Promise<void> | void)[] {
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  return cleanups;
}

export async function simulate(
  project: { file(relative: string): string; dir: string },
  opts: {
    onSpawn?: (child: ChildProcess, n: number) => void;
    env?: Record<string, string>;
    /** The hard kill of an invocation (default `MAX_DURATION_MS`): more room for cold starts under load. */
    maxDurationMs?: number;
  } = {},
): Promise<Simulation> {
  const db = await getTestDatabase();
  const service = await startQueueService();
  const flowDir = project.file(FLOW);
  // The function's own environment, as Vercel sets it from .vc-config.json, then the deployment's variables.
  const vc = JSON.parse(readFileSync(path.join(flowDir, ".vc-config.json"), "utf8")) as {
    environment: Record<string, string>;
  };
  const env = {
    WORKFLOW_POSTGRES_URL: db.url,
    WORKFLOW_POSTGRES_SCHEMA: db.schema,
    WORKFLOW_VERCEL_QUEUE_URL: service.url,
    WORKFLOW_VERCEL_QUEUE_TOKEN: service.token,
    // A killed invocation's lease is free soon after; its message comes back after the visibility timeout.
    WORKFLOW_LEASE_TTL_MS: "1500",
    WORKFLOW_LOG_LEVEL: "warn",
    ...opts.env,
  };
  const outputs = new Map<number, string>();
  const functionEnv: Record<string, string> = {
    ...vc.environment,
    WORKFLOW_STEP_BUDGET_MS: String(BUDGET_MS),
    ...env,
  };
  service.subscribe({
    topic: FLOW_TOPIC,
    consumerGroup: "default",
    // Longer than an invocation may live, as on Vercel: a live invocation's message is never handed to another.
    visibilityTimeoutMs: (opts.maxDurationMs ?? MAX_DURATION_MS) + 2_000,
    retryAfterMs: 500,
    deliver: freshProcessInvoker({
      entry: path.join(flowDir, "index.mjs"),
      maxDurationMs: opts.maxDurationMs ?? MAX_DURATION_MS,
      cwd: project.dir,
      env: functionEnv,
      onOutput: (text, n) => outputs.set(n, (outputs.get(n) ?? "") + text),
      ...(opts.onSpawn ? { onSpawn: opts.onSpawn } : {}),
    }),
  });
  const world = await createPostgresWorld({ url: db.url, schema: db.schema });
  const sim: Simulation = {
    db,
    service,
    world,
    env: { ...env, WORKFLOW_TARGET_WORLD: "vercel" },
    functionEnv,
    outputs,
    async cleanup() {
      await service.close();
      await world.close();
      await db.cleanup();
    },
  };
  cleanups.push(() => sim.cleanup());
  return sim;
}

/** step_completed events per step: exactly-once recording means every count is 1. */
export async function completions(world: World, runId: string): Promise<number[]> {
  const counts = new Map<string, number>();
  for (const e of await world.readEvents(runId)) {
    if (e.type === "step_completed") counts.set(e.correlationId!, (counts.get(e.correlationId!) ?? 0) + 1);
  }
  return [...counts.values()];
}

export function marks(file: string): { step: number; pid: number; at: number }[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

export function cli(): string {
  return path.resolve(here, "../../../packages/workflow/bin/wf.js");
}

/**
 * Checks a `.vercel/output` folder against Vercel's Build Output API v3 as documented: `config.json` with
 * `version: 3` and well-formed routes; every `functions/**\/*.func` holding a `.vc-config.json` whose `runtime` is
 * a Node.js runtime, whose `handler` file exists, and whose optional fields have their documented types; queue
 * triggers of type `queue/v2beta` with a topic; cron jobs (`crons`) whose `path` a route sends to a function and
 * whose `schedule` has the five fields Vercel reads. Returns the problems found.
 */
export function checkBuildOutput(dir: string): string[] {
  const problems: string[] = [];
  const config = JSON.parse(readFileSync(path.join(dir, "config.json"), "utf8"));
  if (config.version !== 3) problems.push(`config.json: version is ${config.version}, not 3`);
  for (const [i, route] of (config.routes ?? []).entries()) {
    if (typeof route.handle === "string") continue;
    if (typeof route.src !== "string") problems.push(`config.json: routes[${i}] has no src`);
    else {
      try {
        new RegExp(route.src);
      } catch {
        problems.push(`config.json: routes[${i}].src is not a regular expression`);
      }
    }
    if (route.dest !== undefined && typeof route.dest !== "string") problems.push(`routes[${i}].dest`);
    if (route.dest && !existsSync(path.join(dir, "functions", `${route.dest.replace(/^\//, "")}.func`))) {
      problems.push(`config.json: routes[${i}].dest ${route.dest} names no function`);
    }
  }
  // Cron jobs: a path on this deployment that a route sends to a function, and a five-field schedule.
  for (const [i, cron] of (config.crons ?? []).entries()) {
    if (typeof cron.path !== "string" || !cron.path.startsWith("/"))
      problems.push(`config.json: crons[${i}].path must be a path starting with /`);
    if (typeof cron.schedule !== "string" || cron.schedule.trim().split(/\s+/).length !== 5)
      problems.push(`config.json: crons[${i}].schedule must be a five-field cron expression`);
    const route = (config.routes ?? []).find(
      (r: { src?: string }) => typeof r.src === "string" && new RegExp(r.src).test(cron.path),
    );
    if (!route?.dest || !existsSync(path.join(dir, "functions", `${route.dest.replace(/^\//, "")}.func`)))
      problems.push(`config.json: crons[${i}].path ${cron.path} reaches no function`);
  }
  const functions = [FLOW, ROUTER, TICK].filter((f) => existsSync(path.join(dir, "..", "..", f)));
  for (const fn of functions.map((f) => path.join(dir, "..", "..", f))) {
    const vc = JSON.parse(readFileSync(path.join(fn, ".vc-config.json"), "utf8"));
    const name = path.basename(fn);
    if (!/^nodejs\d+\.x$/.test(vc.runtime)) problems.push(`${name}: runtime ${vc.runtime}`);
    if (typeof vc.handler !== "string" || !existsSync(path.join(fn, vc.handler)))
      problems.push(`${name}: handler ${vc.handler} missing`);
    if (vc.launcherType !== undefined && vc.launcherType !== "Nodejs") problems.push(`${name}: launcherType`);
    for (const key of ["shouldAddHelpers", "supportsResponseStreaming"]) {
      if (vc[key] !== undefined && typeof vc[key] !== "boolean") problems.push(`${name}: ${key} not boolean`);
    }
    if (vc.maxDuration !== undefined && !(Number.isInteger(vc.maxDuration) && vc.maxDuration >= 1))
      problems.push(`${name}: maxDuration`);
    if (vc.environment !== undefined) {
      for (const [k, v] of Object.entries(vc.environment)) {
        if (typeof v !== "string") problems.push(`${name}: environment.${k} is not a string`);
      }
    }
    for (const trigger of vc.experimentalTriggers ?? []) {
      if (trigger.type !== "queue/v2beta") problems.push(`${name}: trigger type ${trigger.type}`);
      if (typeof trigger.topic !== "string" || !trigger.topic)
        problems.push(`${name}: trigger without topic`);
      for (const key of ["retryAfterSeconds", "initialDelaySeconds"]) {
        if (trigger[key] !== undefined && !(Number.isInteger(trigger[key]) && trigger[key] >= 0))
          problems.push(`${name}: trigger ${key}`);
      }
    }
  }
  return problems;
}
