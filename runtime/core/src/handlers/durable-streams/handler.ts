/**
 * `/.well-known/workflow/v1/streams/...`: a world's runs as Durable Streams.
 *
 * - `streams/runs/<runId>/state`: the run's state (State Protocol change events for the run, steps, hooks, waits)
 * - `streams/runs/<runId>/output[/<namespace>]`: the run's output stream (`getWritable({ namespace })`)
 * - `streams/runs`: the runs list (upserts of type `run`), for list views
 *
 * Access: a read token (`?token=` or `Authorization: Bearer`) made by `createReadToken(runId)` / `run.readToken`
 * reads that run's streams only; a token for `*` reads every run and the list. Or pass `authorize` to decide
 * with the app's own sessions. Streams of unknown runs are 404 (after the access check, so a token for one run
 * cannot probe for others).
 */
import type { World } from "@wfkit/world";
import { getEngine } from "../../api/runtime-config.js";
import { CORS_HEADERS, type ProtocolOptions, serveRead, textResponse } from "./protocol.js";
import { ALL_RUNS, MissingStreamsSecretError, readTokenScope } from "./read-token.js";
import { runOutputSource, runStateSource, runsListSource } from "./sources.js";

/** What a request asks to read: one run's streams, or (`"*"`) the runs list. */
export interface StreamAccess {
  runId: string | typeof ALL_RUNS;
  stream: "state" | "output" | "runs";
}

export interface StreamsHandlerOptions extends ProtocolOptions {
  /** The world to serve; default the configured one. */
  world?: World | (() => Promise<World>);
  /** HMAC key of read tokens; default `WORKFLOW_STREAMS_SECRET`. */
  secret?: string;
  /**
   * Replaces the token check: return true to serve the request. E.g. `() => true` for a trusted network
   * (`wf streams serve --no-auth`), or a check of the app's own session.
   */
  authorize?: (request: Request, access: StreamAccess) => boolean | Promise<boolean>;
}

/** Path of the streams under the workflow base path. */
export const STREAMS_PATH = "streams";

function tokenOf(request: Request, url: URL): string | undefined {
  const fromQuery = url.searchParams.get("token");
  if (fromQuery) return fromQuery;
  const auth = request.headers.get("authorization");
  if (auth?.startsWith("Bearer ")) return auth.slice("Bearer ".length).trim();
  return undefined;
}

function parse(rest: string): { access: StreamAccess; namespace?: string } | undefined {
  const parts = rest.split("/");
  if (parts[0] !== "runs") return undefined;
  if (parts.length === 1 || (parts.length === 2 && parts[1] === "")) {
    return { access: { runId: ALL_RUNS, stream: "runs" } };
  }
  let runId: string;
  try {
    runId = decodeURIComponent(parts[1]!);
  } catch {
    return undefined;
  }
  if (!runId || runId.includes("\u0000") || runId === ALL_RUNS) return undefined;
  if (parts.length === 3 && parts[2] === "state") return { access: { runId, stream: "state" } };
  if (parts[2] === "output" && parts.length <= 4) {
    let namespace = "default";
    if (parts.length === 4) {
      try {
        namespace = decodeURIComponent(parts[3]!);
      } catch {
        return undefined;
      }
    }
    if (!namespace) return undefined;
    return { access: { runId, stream: "output" }, namespace };
  }
  return undefined;
}

/**
 * The handler for every path under `<base>/streams/`. `rest` is the path after `streams/` (the router passes
 * it); called directly, it is taken from the URL.
 */
export function createStreamsHandler(options: StreamsHandlerOptions = {}) {
  const worldOf = async (): Promise<World> => {
    const w = options.world;
    if (typeof w === "function") return w();
    if (w) return w;
    return getEngine().world();
  };
  const protocol: ProtocolOptions = options;
  return async (request: Request, rest?: string): Promise<Response> => {
    const url = new URL(request.url);
    if (rest === undefined) {
      const at = url.pathname.indexOf(`/${STREAMS_PATH}/`);
      rest = at < 0 ? "" : url.pathname.slice(at + STREAMS_PATH.length + 2);
    }
    const target = parse(rest);
    if (!target) {
      return textResponse(
        404,
        `No stream at ${url.pathname}. Streams are streams/runs (the runs list), streams/runs/<runId>/state and ` +
          "streams/runs/<runId>/output[/<namespace>].",
      );
    }
    const method = request.method.toUpperCase();
    if (method === "OPTIONS") return new Response(null, { status: 204, headers: CORS_HEADERS });
    if (method !== "GET" && method !== "HEAD") {
      return textResponse(405, "Run streams are read-only: use GET or HEAD.", {
        allow: "GET, HEAD, OPTIONS",
      });
    }
    const { access } = target;
    if (options.authorize) {
      if (!(await options.authorize(request, access)))
        return textResponse(403, "Not allowed to read this stream.");
    } else {
      const token = tokenOf(request, url);
      if (!token) {
        return textResponse(
          401,
          "A read token is required: pass ?token=<run.readToken> (or Authorization: Bearer <token>). " +
            "createReadToken(runId) from workflow/runtime makes one on the server.",
        );
      }
      let scope: string | undefined;
      try {
        scope = readTokenScope(token, options.secret);
      } catch (error) {
        if (error instanceof MissingStreamsSecretError) return textResponse(500, error.message);
        throw error;
      }
      if (scope === undefined) return textResponse(401, "The read token is invalid or expired.");
      if (scope !== ALL_RUNS && scope !== access.runId) {
        return textResponse(403, "This read token is for another run.");
      }
    }
    const world = await worldOf();
    if (access.stream === "runs") return serveRead(request, runsListSource(world), protocol);
    if (!(await world.getRun(access.runId)))
      return textResponse(404, `No run ${access.runId} in this world.`);
    const source =
      access.stream === "state"
        ? runStateSource(world, access.runId)
        : runOutputSource(world, access.runId, target.namespace ?? "default");
    return serveRead(request, source, protocol);
  };
}

export type StreamsHandler = ReturnType<typeof createStreamsHandler>;
