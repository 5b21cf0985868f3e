/**
 * The Vercel deployment of a project's workflows, in Vercel's Build Output API v3 (`.vercel/output/`):
 *
 * - `functions/.well-known/workflow/v1/flow.func`: the flow function, the consumer of the flow topic (its queue
 *   trigger in `.vc-config.json`). It holds the workflow and step bundles (`.workflow/`, everything bundled: a
 *   function has no `node_modules`) and `index.mjs`, the runtime and `@wfkit/world-vercel`'s flow handler in one
 *   ESM bundle. Queue-triggered functions get no public route.
 * - `functions/.well-known/workflow/v1/router.func`: the HTTP endpoints (`/.well-known/workflow/v1/*`: webhooks,
 *   hook resumption, streams) on the Vercel world, routed from `config.json`.
 * - `functions/.well-known/workflow/v1/tick.func`: the tick function, which a Vercel Cron Job (`crons` in
 *   `config.json`, every minute by default) calls: schedules' due ticks, the ticks armed until its next call, the
 *   flow gates' sweep (`createTickHandler` of `@wfkit/world-vercel`). Routed from `config.json` ahead of any
 *   catch-all route.
 * - `config.json`: `{ "version": 3, "routes": […], "crons": […] }`, merged into one a framework build already
 *   wrote.
 *
 * A step whose declared timeout exceeds `maxDuration` fails the build (`STEP_EXCEEDS_MAX_DURATION`).
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import type { StepTimeout } from "@wfkit/core";
import { build } from "esbuild";
import { type BuildProjectResult, buildProject } from "./build-project.js";

/** The flow topic; the same constant as `FLOW_TOPIC` of `@wfkit/world-vercel`. */
export const VERCEL_FLOW_TOPIC = "wfkit_flow";
export const FLOW_FUNCTION = ".well-known/workflow/v1/flow";
export const ROUTER_FUNCTION = ".well-known/workflow/v1/router";
export const TICK_FUNCTION = ".well-known/workflow/v1/tick";
/** Every minute: Vercel's finest cron interval (the Hobby plan allows once a day: pass `heartbeat`). */
export const DEFAULT_HEARTBEAT = "* * * * *";

export interface VercelDeploymentOptions {
  projectRoot: string;
  /** Default `.vercel/output` in the project root. */
  outputDir?: string;
  /** Seconds one invocation may run (the functions' `maxDuration`, and the invocation budget). Default 300. */
  maxDuration?: number;
  /** The functions' Node.js runtime. Default "nodejs22.x". */
  runtime?: string;
  /**
   * Also the function serving `/.well-known/workflow/v1/*` (webhooks, hooks, streams) and its route (default true).
   * False when a framework serves those routes itself (Next.js with `withWorkflow`).
   */
  endpoints?: boolean;
  /**
   * The cron expression of the heartbeat, the cron job that calls the tick function (schedules, flow gates). Five
   * fields, UTC, as Vercel reads them. Default every minute; `false`: no tick function and no cron job (then
   * `schedule()` ticks fire only from their armed messages, and nothing catches up after downtime).
   */
  heartbeat?: string | false;
  /** Seconds before a message whose invocation failed is delivered again. Default 5. */
  retryAfterSeconds?: number;
  include?: string[];
  exclude?: string[];
  conditions?: string[];
  tsconfig?: string;
  minify?: boolean;
}

/** The subset of `.vc-config.json` (a Node.js function) that this build writes. */
export interface VercelFunctionConfig {
  runtime: string;
  handler: string;
  launcherType: "Nodejs";
  shouldAddHelpers: boolean;
  supportsResponseStreaming: boolean;
  maxDuration: number;
  environment: Record<string, string>;
  experimentalTriggers?: {
    type: "queue/v2beta";
    topic: string;
    consumer: string;
    retryAfterSeconds: number;
    initialDelaySeconds: number;
  }[];
}

/** A cron job of the Build Output API's `config.json`: `path` is called (GET) on `schedule`, in production. */
export interface VercelCron {
  path: string;
  schedule: string;
}

export interface VercelOutputConfig {
  version: 3;
  routes?: Record<string, unknown>[];
  crons?: VercelCron[];
  [key: string]: unknown;
}

export interface VercelDeploymentResult {
  outputDir: string;
  /** Function directories written (`functions/….func`), relative to `outputDir`. */
  functions: string[];
  config: VercelOutputConfig;
  build: BuildProjectResult;
}

const ROUTE_SRC = "^/\\.well-known/workflow/v1/(.*)$";
const TICK_ROUTE_SRC = "^/\\.well-known/workflow/v1/tick$";

export async function writeVercelDeployment(
  options: VercelDeploymentOptions,
): Promise<VercelDeploymentResult> {
  const projectRoot = path.resolve(options.projectRoot);
  const outputDir = path.resolve(projectRoot, options.outputDir ?? ".vercel/output");
  const maxDuration = options.maxDuration ?? 300;
  if (!Number.isInteger(maxDuration) || maxDuration < 1) {
    throw new RangeError(`maxDuration must be a whole number of seconds ≥ 1, got ${maxDuration}.`);
  }
  const runtime = options.runtime ?? "nodejs22.x";
  if (!/^nodejs\d+\.x$/.test(runtime)) {
    throw new RangeError(`runtime must name a Node.js runtime such as "nodejs22.x", got "${runtime}".`);
  }
  const endpoints = options.endpoints ?? true;
  const heartbeat = options.heartbeat ?? DEFAULT_HEARTBEAT;
  if (heartbeat !== false) checkHeartbeat(heartbeat);
  // Read first: a config.json this build cannot merge into fails it before any work.
  const config = mergeConfig(path.join(outputDir, "config.json"), endpoints, heartbeat);
  const flowDir = path.join(outputDir, "functions", `${FLOW_FUNCTION}.func`);
  const routerDir = path.join(outputDir, "functions", `${ROUTER_FUNCTION}.func`);
  const tickDir = path.join(outputDir, "functions", `${TICK_FUNCTION}.func`);
  for (const dir of [flowDir, routerDir, tickDir]) rmSync(dir, { recursive: true, force: true });
  const codeDir = path.join(flowDir, ".workflow");
  const result = await buildProject({
    projectRoot,
    outDir: codeDir,
    // A function directory has no node_modules: the step bundle carries its dependencies.
    external: false,
    ...(options.include ? { include: options.include } : {}),
    ...(options.exclude ? { exclude: options.exclude } : {}),
    ...(options.conditions ? { conditions: options.conditions } : {}),
    ...(options.tsconfig ? { tsconfig: options.tsconfig } : {}),
    minify: options.minify ?? false,
  });
  // Loaded here only: the builder's other users (bundler plugins, loaders) never need the runtime.
  const { checkStepTimeouts } = await import("@wfkit/core");
  checkStepTimeouts(await stepTimeouts(result.stepBundle), maxDuration * 1000);

  const worldVercel = resolveFrom(projectRoot, "@wfkit/world-vercel");
  const core = resolveFrom(projectRoot, "@wfkit/core");
  await bundleFunction(
    path.join(flowDir, "index.mjs"),
    [
      `import { fileURLToPath } from "node:url";`,
      `import { createFlowHandler } from ${JSON.stringify(worldVercel)};`,
      "export const POST = createFlowHandler({",
      `  build: fileURLToPath(new URL("./.workflow", import.meta.url)),`,
      `  retryAfterSeconds: ${options.retryAfterSeconds ?? 5},`,
      "});",
    ].join("\n"),
    projectRoot,
    options.minify ?? false,
  );
  const environment: Record<string, string> = {
    WORKFLOW_TARGET_WORLD: "vercel",
    WORKFLOW_STEP_BUDGET_MS: String(maxDuration * 1000),
    // How far ahead schedules' ticks are armed: until the heartbeat's next call.
    ...(heartbeat !== false ? { WORKFLOW_VERCEL_HEARTBEAT: heartbeat } : {}),
  };
  const base = { runtime, handler: "index.mjs", launcherType: "Nodejs" as const, shouldAddHelpers: false };
  writeJson(path.join(flowDir, ".vc-config.json"), {
    ...base,
    supportsResponseStreaming: false,
    maxDuration,
    environment,
    experimentalTriggers: [
      {
        type: "queue/v2beta",
        topic: VERCEL_FLOW_TOPIC,
        consumer: "default",
        retryAfterSeconds: options.retryAfterSeconds ?? 5,
        initialDelaySeconds: 0,
      },
    ],
  } satisfies VercelFunctionConfig);
  if (endpoints) {
    await bundleFunction(
      path.join(routerDir, "index.mjs"),
      [
        `import { createHandlers, createRouter } from ${JSON.stringify(core)};`,
        "const router = createRouter(createHandlers());",
        `const handle = async (request) => (await router(request)) ?? new Response("Not Found", { status: 404 });`,
        "export { handle as GET, handle as POST, handle as PUT, handle as PATCH, handle as DELETE, handle as HEAD };",
      ].join("\n"),
      projectRoot,
      options.minify ?? false,
    );
  }
  if (endpoints)
    writeJson(path.join(routerDir, ".vc-config.json"), {
      ...base,
      // Streams are read live over these endpoints.
      supportsResponseStreaming: true,
      maxDuration,
      environment: { ...environment, WORKFLOW_EXECUTE_RUNS: "0" },
    } satisfies VercelFunctionConfig);

  if (heartbeat !== false) {
    await bundleFunction(
      path.join(tickDir, "index.mjs"),
      [
        `import { createTickHandler } from ${JSON.stringify(worldVercel)};`,
        "const handle = createTickHandler();",
        "export { handle as GET, handle as POST };",
      ].join("\n"),
      projectRoot,
      options.minify ?? false,
    );
    writeJson(path.join(tickDir, ".vc-config.json"), {
      ...base,
      supportsResponseStreaming: false,
      maxDuration,
      environment: { ...environment, WORKFLOW_EXECUTE_RUNS: "0" },
    } satisfies VercelFunctionConfig);
  }

  writeJson(path.join(outputDir, "config.json"), config);
  return {
    outputDir,
    functions: [
      `functions/${FLOW_FUNCTION}.func`,
      ...(endpoints ? [`functions/${ROUTER_FUNCTION}.func`] : []),
      ...(heartbeat !== false ? [`functions/${TICK_FUNCTION}.func`] : []),
    ],
    config,
    build: result,
  };
}

/** Vercel reads a cron job's schedule as five fields (no seconds); anything else fails the deployment. */
function checkHeartbeat(cron: string): void {
  if (typeof cron !== "string" || cron.trim().split(/\s+/).length !== 5) {
    throw new RangeError(
      `heartbeat must be a cron expression of five fields ("minute hour day month weekday", UTC) as Vercel Cron ` +
        `Jobs read it, such as "* * * * *", or false; got ${JSON.stringify(cron)}.`,
    );
  }
}

/** Our routes first, whatever a framework build (which may have written config.json before us) routes. */
function mergeConfig(file: string, endpoints: boolean, heartbeat: string | false): VercelOutputConfig {
  let existing: VercelOutputConfig = { version: 3 };
  if (existsSync(file)) {
    existing = JSON.parse(readFileSync(file, "utf8")) as VercelOutputConfig;
    if (existing.version !== 3) {
      throw new Error(
        `${file} is Build Output API version ${String(existing.version)}; only version 3 is supported.`,
      );
    }
  }
  const router = { src: ROUTE_SRC, dest: `/${ROUTER_FUNCTION}` };
  const tick = { src: TICK_ROUTE_SRC, dest: `/${TICK_FUNCTION}` };
  const routes = (existing.routes ?? []).filter((r) => r.src !== ROUTE_SRC && r.src !== TICK_ROUTE_SRC);
  const crons = (existing.crons ?? []).filter((c) => c.path !== `/${TICK_FUNCTION}`);
  if (heartbeat !== false) crons.push({ path: `/${TICK_FUNCTION}`, schedule: heartbeat });
  const { crons: _previous, ...rest } = existing;
  return {
    ...rest,
    version: 3,
    routes: [...(heartbeat !== false ? [tick] : []), ...(endpoints ? [router] : []), ...routes],
    ...(crons.length > 0 ? { crons } : {}),
  };
}

/** The declared step timeouts, read in a child process: importing the step bundle runs the app's modules. */
async function stepTimeouts(stepBundle: string): Promise<StepTimeout[]> {
  const script = [
    `await import(${JSON.stringify(pathToFileURL(stepBundle).href)});`,
    `const out = [];`,
    `for (const [stepId, fn] of globalThis[Symbol.for("wfkit.steps")] ?? new Map()) {`,
    `  const t = fn?.timeout; if (typeof t === "string" || typeof t === "number") out.push({ stepId, timeout: t });`,
    "}",
    "process.stdout.write(JSON.stringify(out));",
    "process.exit(0);",
  ].join("\n");
  const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], {
    cwd: path.dirname(stepBundle),
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(stdout) as StepTimeout[];
}

/**
 * Where a runtime package is, from the project (npm, a workspace) or else from this builder (pnpm, where the app
 * depends only on `workflow`): an absolute path, so that the function bundle finds it from anywhere.
 */
function resolveFrom(projectRoot: string, specifier: string): string {
  for (const base of [path.join(projectRoot, "package.json"), import.meta.filename]) {
    try {
      return createRequire(base).resolve(specifier);
    } catch {
      // next candidate
    }
  }
  try {
    const facade = createRequire(path.join(projectRoot, "package.json")).resolve("workflow/package.json");
    return createRequire(facade).resolve(specifier);
  } catch {
    throw new Error(
      `${specifier} is not installed where ${projectRoot} can see it: the Vercel target needs it (npm i ${specifier}).`,
    );
  }
}

async function bundleFunction(
  outfile: string,
  source: string,
  resolveDir: string,
  minify: boolean,
): Promise<void> {
  mkdirSync(path.dirname(outfile), { recursive: true });
  await build({
    stdin: { contents: source, resolveDir, sourcefile: "vercel-function-entry.mjs", loader: "js" },
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    minify,
    sourcemap: "linked",
    logLevel: "silent",
    // CommonJS dependencies (pg) call require() inside an ES module.
    banner: {
      js: 'import { createRequire as __wfCreateRequire } from "node:module"; const require = __wfCreateRequire(import.meta.url);',
    },
    // Optional native or edge-only dependencies of pg, loaded only when present.
    external: ["pg-native", "cloudflare:sockets"],
  });
}

function writeJson(file: string, value: unknown): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}
