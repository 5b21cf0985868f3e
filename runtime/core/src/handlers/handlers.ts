/**
 * `createHandlers()`: the flow, step and webhook endpoints of `/.well-known/workflow/v1/*` as Web-standard
 * `(Request) => Promise<Response>` functions, so any server (Hono, Vite's dev server, Node's `http` through
 * `toNodeHandler`) can mount them.
 *
 * With the local world steps run inline in the process that drives the run, so `flow` ("drive run X now")
 * is all a run needs. `step` exists for worlds that dispatch single steps to other invocations; until such a
 * world exists it drives the whole run too, which executes the step inline along with whatever comes next.
 */
import type { World } from "@wfkit/world";
import { resumeWebhook } from "../api/hooks.js";
import { engineForWorld, getEngine } from "../api/runtime-config.js";
import type { Engine } from "../engine/engine.js";
import { PayloadTooLargeError, readBodyLimited } from "../engine/http-body.js";
import { HookNotFoundError } from "../sandbox/hook-errors.js";
import { createStreamsHandler, type StreamsHandlerOptions } from "./durable-streams/handler.js";

export type WebHandler = (request: Request) => Promise<Response>;

export interface WorkflowHandlers {
  /** POST `{ runId }`: take the run's lease and continue it in this process. 202 `{ runId, driving }`. */
  flow: WebHandler;
  /** POST `{ runId, stepId? }`: execute a step of the run; for now drives the run (see the module comment). */
  step: WebHandler;
  /** Any method on `.../webhook/:token`: delivers the request to the hook waiting on that token. */
  webhook: WebHandler;
  /** GET/HEAD on `.../streams/...`: runs as Durable Streams (state, output, the runs list); read tokens. */
  streams?: WebHandler;
}

export interface HandlersOptions {
  /** Drive runs on this world; default the configured one (`WORKFLOW_TARGET_WORLD`). */
  world?: World;
  /**
   * Delivers a webhook request; default `resumeWebhook` of `workflow/api` on this world's engine, which
   * answers 404 with an empty body for a token no live webhook holds.
   */
  resumeWebhook?: (token: string, request: Request) => Promise<Response>;
  /**
   * Largest webhook request body delivered to a run; larger ones are answered 413 without being read further.
   * Default `WORKFLOW_MAX_BODY_BYTES`, else 4 MiB. (`flow` and `step` bodies are `{ runId }`: at most 64 KiB.)
   */
  maxBodyBytes?: number;
  /** Options of the `streams` endpoint (read-token secret, `authorize`, long-poll timeout). */
  streams?: Omit<StreamsHandlerOptions, "world">;
}

/** `flow` and `step` take `{ "runId": … }` and nothing else. */
const MAX_DRIVE_BODY_BYTES = 64 * 1024;

/** Where the handlers are mounted; the router and the Vite dev server use the same paths. */
export const WORKFLOW_BASE_PATH = "/.well-known/workflow/v1";

export function createHandlers(options: HandlersOptions = {}): WorkflowHandlers {
  const engine = (): Engine => (options.world ? engineForWorld(options.world) : getEngine());
  const drive: WebHandler = async (request) => {
    if (request.method !== "POST")
      return json(405, { error: `use POST with a JSON body { "runId": "..." }, not ${request.method}` });
    let body: unknown;
    try {
      body = await readJson(request, MAX_DRIVE_BODY_BYTES);
    } catch (error) {
      if (PayloadTooLargeError.is(error)) return error.toResponse();
      throw error;
    }
    const runId = (body as { runId?: unknown } | undefined)?.runId;
    if (typeof runId !== "string" || runId.length === 0 || runId.includes("\u0000"))
      return json(400, {
        error: 'the body must be JSON with a non-empty string "runId", e.g. {"runId":"wrun_..."}',
      });
    const e = engine();
    const world = await e.world();
    if (!(await world.getRun(runId)))
      return json(404, { error: `no run with ID "${runId}" exists in this world` });
    const driving = await e.drive(runId);
    return json(202, { runId, driving });
  };
  const streams = createStreamsHandler({ ...options.streams, world: () => engine().world() });
  return {
    flow: drive,
    step: drive,
    streams: (request) => streams(request),
    async webhook(request) {
      const token = webhookToken(new URL(request.url).pathname);
      if (!token) return new Response(null, { status: 404 });
      try {
        if (options.resumeWebhook) return await options.resumeWebhook(token, request);
        return await resumeWebhook(token, request, {
          engine: engine(),
          ...(options.maxBodyBytes !== undefined ? { maxBodyBytes: options.maxBodyBytes } : {}),
        });
      } catch (error) {
        // No live webhook has the token: the caller gets a bare 404, which reveals nothing about other tokens.
        if (HookNotFoundError.is(error)) return new Response(null, { status: 404 });
        throw error;
      }
    },
  };
}

/** The token of `.../webhook/<token>` (URL-decoded), or undefined when the path names none. */
export function webhookToken(pathname: string): string | undefined {
  const marker = "/webhook/";
  const at = pathname.lastIndexOf(marker);
  if (at < 0) return undefined;
  const raw = pathname.slice(at + marker.length).replace(/\/+$/, "");
  if (!raw || raw.includes("/")) return undefined;
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

async function readJson(request: Request, limit: number): Promise<unknown> {
  const bytes = await readBodyLimited(request, limit, "request body");
  try {
    return bytes ? JSON.parse(new TextDecoder().decode(bytes)) : undefined;
  } catch {
    return undefined;
  }
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}
