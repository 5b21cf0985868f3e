/**
 * The server half of `withWorkflow`: what runs inside `next start` / `next dev` (never in the bundler).
 *
 * Every entry point that can reach the runtime calls `configureNextRuntime` with the same options: the
 * generated `/.well-known/workflow/v1/*` routes, every directive file of the app's server bundle (the loader
 * appends the call) and `withWorkflow` itself when Next loads the config in the server process. The first
 * call wins; the state lives on `globalThis`, so it holds even if a bundler ever loaded this module twice.
 * That is what makes `start()` in an app route work before any workflow route has been requested.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import {
  type CodeProvider,
  configureRuntime,
  createBuiltCodeProvider,
  createHandlers,
  resumePendingRuns,
  type WorkflowHandlers,
} from "@wfkit/core";

export interface NextRuntimeOptions {
  /** The project root at build time (absolute); `process.cwd()` is used when it no longer exists. */
  root: string;
  /** The build output folder, relative to the root (`.workflow`). */
  outDir: string;
  /** `next dev`: re-read the bundles after each rebuild, and wait for a rebuild in progress. */
  dev: boolean;
  /** Next's `basePath`, which the app's public URL includes. */
  basePath?: string;
}

export interface NextRuntimeState {
  options?: NextRuntimeOptions;
  handlers?: WorkflowHandlers;
  /** Set by the dev watcher while it rebuilds `.workflow/`; runs wait for it so they see the new code. */
  rebuilding?: Promise<unknown>;
  /** The output folder the `next dev` watcher of this process rebuilds. */
  watching?: string;
  /** True when WORKFLOW_BASE_URL was derived from Next's origin (so it may be refreshed, never overridden). */
  derivedBaseUrl?: boolean;
}

const STATE = Symbol.for("wfkit.next.runtime");

export function nextRuntimeState(): NextRuntimeState {
  const g = globalThis as { [STATE]?: NextRuntimeState };
  g[STATE] ??= {};
  return g[STATE];
}

/** Idempotent: the first call configures the process-wide runtime from the `.workflow/` build. */
export function configureNextRuntime(options: NextRuntimeOptions): void {
  const state = nextRuntimeState();
  if (state.options) return;
  state.options = options;
  const root = existsSync(options.root) ? options.root : process.cwd();
  // The local world keeps its data beside the app, wherever `next` was started from.
  process.env.WORKFLOW_LOCAL_DATA_DIR ??= path.join(root, ".workflow-data");
  fillBaseUrl(options.basePath);
  const built = createBuiltCodeProvider({ dir: path.resolve(root, options.outDir), watch: options.dev });
  configureRuntime({ codeProvider: options.dev ? waitingForRebuild(built, state) : built });
  // `next build` evaluates route modules to collect page data; runs must never be driven by a build.
  const building = process.env.NEXT_PHASE === "phase-production-build";
  if (!building && process.env.WORKFLOW_RESUME_ON_START !== "0") {
    resumePendingRuns().catch((error) => console.error("[workflow] could not resume pending runs:", error));
  }
}

/**
 * `getWorkflowMetadata().url` and webhook URLs come from WORKFLOW_BASE_URL. When the user set none, it is
 * the origin Next's server announces once it listens (`next start -p 4000` → `http://localhost:4000`),
 * plus `basePath`.
 */
export function fillBaseUrl(basePath = "", env: Record<string, string | undefined> = process.env): void {
  const state = nextRuntimeState();
  if (env.WORKFLOW_BASE_URL && !state.derivedBaseUrl) return;
  const origin = env.__NEXT_PRIVATE_ORIGIN;
  if (!origin) return;
  env.WORKFLOW_BASE_URL = `${origin.replace(/\/+$/, "")}${basePath}`;
  state.derivedBaseUrl = true;
}

/** In `next dev` the code provider waits for a rebuild in progress, so a run started after a save sees it. */
export function waitingForRebuild(provider: CodeProvider, state: NextRuntimeState): CodeProvider {
  const settled = async () => {
    // Another rebuild may have been queued while this one ran; wait until the latest one has settled.
    while (state.rebuilding) {
      const current = state.rebuilding;
      await current.catch(() => {});
      if (state.rebuilding === current) return;
    }
  };
  return {
    async getWorkflowBundle(workflowId) {
      await settled();
      return provider.getWorkflowBundle(workflowId);
    },
    async loadStep(stepId) {
      await settled();
      return provider.loadStep(stepId);
    },
  };
}

export type RouteKind = "flow" | "step" | "webhook" | "streams";
type RouteHandler = (request: Request) => Promise<Response>;

/** The exports of a generated route file: Next route handlers for each HTTP method the endpoint answers. */
export function workflowRoute(kind: RouteKind, options: NextRuntimeOptions): Record<string, RouteHandler> {
  configureNextRuntime(options);
  const handle: RouteHandler = async (request) => {
    const state = nextRuntimeState();
    fillBaseUrl(state.options?.basePath);
    state.handlers ??= createHandlers();
    const handler = state.handlers[kind];
    if (!handler) return new Response(null, { status: 404 });
    return handler(request);
  };
  if (kind === "streams") return { GET: handle, HEAD: handle, OPTIONS: handle };
  if (kind !== "webhook") return { POST: handle };
  // A webhook answers whatever method its caller uses (a link in an email is a GET).
  return {
    GET: handle,
    HEAD: handle,
    POST: handle,
    PUT: handle,
    PATCH: handle,
    DELETE: handle,
    OPTIONS: handle,
  };
}
