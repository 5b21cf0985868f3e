/**
 * `createDashboard()`: the web dashboard as one Web-standard handler, `(Request) => Promise<Response>`, to mount
 * under a path of any server (or run alone with `wf web`). It serves the page, its compiled browser code, a JSON API
 * under `api/` and live updates under `api/live` (server-sent events).
 *
 * Actions (start, cancel, retry, fork, pause, resume, resume a hook) only record what they ask for in the world,
 * through an engine: the app's processes and workers that execute runs carry them out.
 */
import { type Engine, engineForWorld, getEngine, Run, type World } from "@wfkit/core";
import { assetResponse, indexHtml, isAsset } from "./assets.js";
import { liveEvents } from "./live.js";
import {
  BadRequestError,
  eventsPage,
  listRunsPage,
  parseRunsQuery,
  runDetail,
  stepDetail,
  streamPage,
  streamsOf,
  workflowStats,
} from "./queries.js";

/**
 * What `auth` decides for a request: `true` (or `"full"`) lets it through; `"read-only"` lets it view but refuses
 * actions (403); `false` refuses it (401); a `Response` is sent as it is (e.g. a 403, or a redirect to a login).
 */
export type DashboardAccess = boolean | "full" | "read-only" | Response;

export interface DashboardOptions {
  /** The world to show (default: the app's configured world, `WORKFLOW_TARGET_WORLD` unless configured). */
  world?: World;
  /** Where the handler is mounted, e.g. `/admin/workflows` (default `/`). Requests outside it get 404. */
  basePath?: string;
  /** Decides per request who may view and who may act. Without it, everyone who reaches the handler may. */
  auth?: (request: Request) => DashboardAccess | Promise<DashboardAccess>;
  /** Refuse every action (403) and hide the buttons: a dashboard only to watch. */
  readOnly?: boolean;
  /** The page's title (default "Workflows"). */
  title?: string;
  /**
   * The engine that records actions (default: the app's engine for the world). `wf web` passes one that executes
   * nothing, so the app's own processes carry the actions out.
   */
  engine?: Engine;
  /**
   * Turns what the "start a run" form was given into a workflow ID (default: only IDs, `workflow//…`, are taken).
   * `wf web` resolves function names through the build manifest or the sources, as `wf start` does.
   */
  resolveWorkflow?: (nameOrId: string) => Promise<string>;
}

export type DashboardHandler = (request: Request) => Promise<Response>;

/** Largest JSON body an action accepts (a hook payload is the only large one). */
const MAX_BODY_BYTES = 1024 * 1024;

export function normalizeBasePath(basePath: string | undefined): string {
  const raw = (basePath ?? "/").trim();
  if (raw !== "" && !raw.startsWith("/")) {
    throw new TypeError(
      `createDashboard({ basePath }): "${raw}" must start with "/", e.g. "/admin/workflows".`,
    );
  }
  return raw.replace(/\/+$/, "");
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const jsonResponse = (value: unknown, status = 200) =>
  new Response(JSON.stringify(value), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
  });

const errorResponse = (status: number, message: string) => jsonResponse({ error: message }, status);

/** Engine and runtime errors, by name, to the HTTP status an API client should see. */
function statusOf(error: unknown): number {
  if (error instanceof HttpError) return error.status;
  if (error instanceof BadRequestError || error instanceof TypeError) return 400;
  const name = (error as Error)?.name ?? "";
  const code = (error as { code?: string })?.code ?? "";
  if (/NotFound/.test(name) || code === "RUN_NOT_FOUND") return 404;
  if (/NotRetryable|RunFinished|AlreadyExists|Conflict/.test(name) || code === "RUN_FINISHED") return 409;
  return 500;
}

export function createDashboard(options: DashboardOptions = {}): DashboardHandler {
  const basePath = normalizeBasePath(options.basePath);
  const engineOf = (): Engine =>
    options.engine ?? (options.world ? engineForWorld(options.world) : getEngine());
  const worldOf = async (): Promise<World> => options.world ?? (await engineOf().world());

  return async (request) => {
    const url = new URL(request.url);
    if (url.pathname !== basePath && !url.pathname.startsWith(`${basePath}/`)) {
      return errorResponse(404, `not under the dashboard's base path ${basePath || "/"}`);
    }
    const rest = url.pathname.slice(basePath.length).replace(/^\/+/, "");

    let access: DashboardAccess = true;
    if (options.auth) {
      try {
        access = await options.auth(request);
      } catch (error) {
        return errorResponse(500, `dashboard auth callback failed: ${(error as Error)?.message ?? error}`);
      }
      if (access instanceof Response) return access;
      if (access === false) return errorResponse(401, "not signed in to the workflow dashboard");
    }
    const mayAct = !options.readOnly && access !== "read-only";

    try {
      if (request.method === "GET" || request.method === "HEAD") {
        if (rest === "" || rest === "index.html") {
          return new Response(indexHtml(basePath, options.title ?? "Workflows"), {
            headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-cache" },
          });
        }
        if (rest === "favicon.ico") return new Response(null, { status: 204 });
        if (rest.startsWith("assets/") && isAsset(rest.slice(7))) return await assetResponse(rest.slice(7));
        if (rest.startsWith("api/")) return await read(rest.slice(4), url, request, mayAct);
        return errorResponse(404, `no dashboard page at ${url.pathname}`);
      }
      if (request.method === "POST" && rest.startsWith("api/")) {
        if (!mayAct) {
          return errorResponse(
            403,
            options.readOnly ? "this dashboard is read-only" : "you may view this dashboard but not act",
          );
        }
        checkSameOrigin(request, url);
        const body = await readJsonBody(request);
        return await act(rest.slice(4), body);
      }
      return errorResponse(405, `${request.method} is not allowed on ${url.pathname}`);
    } catch (error) {
      const status = statusOf(error);
      return errorResponse(status, (error as Error)?.message ?? String(error));
    }
  };

  async function read(route: string, url: URL, request: Request, mayAct: boolean): Promise<Response> {
    const world = await worldOf();
    const parts = route.split("/").map(decodeURIComponent);
    if (route === "config") {
      return jsonResponse({ readOnly: !mayAct, world: world.name, basePath });
    }
    if (route === "live") {
      return liveEvents(world, {
        ...(url.searchParams.get("runId") ? { runId: url.searchParams.get("runId") as string } : {}),
        signal: request.signal,
      });
    }
    if (route === "runs") return jsonResponse(await listRunsPage(world, parseRunsQuery(url.searchParams)));
    if (route === "workflows") return jsonResponse(await workflowStats(world));
    if (parts[0] === "runs" && parts[1]) {
      const runId = parts[1];
      if (parts.length === 2) return found(await runDetail(world, runId), `run ${runId}`);
      if (parts.length === 3 && parts[2] === "events") {
        return found(await eventsPage(world, runId, url.searchParams), `run ${runId}`);
      }
      if (parts.length === 3 && parts[2] === "streams")
        return found(await streamsOf(world, runId), `run ${runId}`);
      if (parts.length === 4 && parts[2] === "streams") {
        return jsonResponse(await streamPage(world, runId, parts[3] as string, url.searchParams));
      }
      if (parts.length === 4 && parts[2] === "steps") {
        return found(await stepDetail(world, runId, parts[3] as string), `step ${parts[3]} of run ${runId}`);
      }
    }
    return errorResponse(404, `no dashboard API at ${url.pathname}`);
  }

  async function act(route: string, body: Record<string, unknown>): Promise<Response> {
    const engine = engineOf();
    const parts = route.split("/").map(decodeURIComponent);
    const reason = optionalString(body, "reason");
    if (route === "runs") {
      const workflowName = requiredString(body, "workflowName", "workflow//src/order.ts//order");
      const args = body.args ?? [];
      if (!Array.isArray(args))
        throw new BadRequestError(`args must be a JSON array of arguments, e.g. ["order-1"].`);
      let workflowId = workflowName;
      if (options.resolveWorkflow) workflowId = await options.resolveWorkflow(workflowName);
      else if (!workflowName.startsWith("workflow//")) {
        throw new BadRequestError(
          `"${workflowName}" is not a workflow ID: give the full ID, e.g. workflow//src/order.ts//order.`,
        );
      }
      const runId = await engine.start(workflowId, args);
      return jsonResponse({ runId }, 201);
    }
    if (route === "hooks/resume") {
      const token = requiredString(body, "token", "approval:order-1");
      if (!("payload" in body))
        throw new BadRequestError(`payload is missing: send { "token", "payload": <JSON> }.`);
      const hook = await engine.resumeHook(token, body.payload);
      return jsonResponse({ runId: hook.runId, hookId: hook.hookId });
    }
    if (parts[0] === "runs" && parts.length === 3) {
      const runId = parts[1] as string;
      const run = new Run(runId, engine);
      switch (parts[2]) {
        case "cancel": {
          if (!(await engine.cancel(runId, reason))) throw new HttpError(404, `run ${runId} was not found`);
          return jsonResponse({ runId, status: (await run.status) as string });
        }
        case "retry":
          await run.retry(reason === undefined ? {} : { reason });
          return jsonResponse({ runId });
        case "pause":
          await run.pause(reason === undefined ? {} : { reason });
          return jsonResponse({ runId });
        case "resume":
          await run.resume();
          return jsonResponse({ runId });
        case "fork": {
          const fromStep = optionalString(body, "fromStep");
          const fork = await run.fork(fromStep === undefined ? {} : { fromStep }).catch((error: unknown) => {
            // A step the run never reached is refused with a plain Error naming the step: the caller's mistake.
            throw error instanceof Error && error.constructor === Error
              ? new BadRequestError(error.message)
              : error;
          });
          return jsonResponse({ runId: fork.runId, forkedFrom: runId }, 201);
        }
      }
    }
    return errorResponse(404, `no dashboard action at api/${route}`);
  }
}

function found(value: unknown, what: string): Response {
  return value === undefined ? errorResponse(404, `${what} was not found`) : jsonResponse(value);
}

function optionalString(body: Record<string, unknown>, key: string): string | undefined {
  const value = body[key];
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "string")
    throw new BadRequestError(`${key} must be a string, got ${JSON.stringify(value)}.`);
  return value;
}

function requiredString(body: Record<string, unknown>, key: string, example: string): string {
  const value = optionalString(body, key);
  if (value === undefined) throw new BadRequestError(`${key} is missing, e.g. { "${key}": "${example}" }.`);
  return value;
}

/**
 * Actions must come from the dashboard's own page: a JSON content type (a cross-site form cannot send one without
 * a CORS preflight, which this handler never grants) and, when the browser names it, the same origin.
 */
function checkSameOrigin(request: Request, url: URL): void {
  const type = request.headers.get("content-type") ?? "";
  if (!type.toLowerCase().startsWith("application/json")) {
    throw new HttpError(415, `actions take a JSON body: send content-type: application/json.`);
  }
  const origin = request.headers.get("origin");
  if (origin && origin !== "null") {
    const forwardedHost = request.headers.get("x-forwarded-host");
    const host = forwardedHost ?? request.headers.get("host") ?? url.host;
    if (new URL(origin).host !== host) {
      throw new HttpError(403, `cross-origin action refused (origin ${origin}, dashboard at ${host}).`);
    }
  }
}

async function readJsonBody(request: Request): Promise<Record<string, unknown>> {
  const text = await request.text();
  if (text.length > MAX_BODY_BYTES)
    throw new HttpError(413, `the request body is over ${MAX_BODY_BYTES} bytes.`);
  if (text.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new BadRequestError(`the request body is not JSON: ${(error as Error).message}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new BadRequestError("the request body must be a JSON object.");
  }
  return value as Record<string, unknown>;
}
