/**
 * One function that answers every path under `/.well-known/workflow/v1/`, for servers that mount a single
 * handler (a Vite middleware, a plain Node server). Paths it does not own resolve to `undefined`, so the
 * caller can fall through to the rest of its app.
 */
import { WORKFLOW_BASE_PATH, type WorkflowHandlers } from "./handlers.js";

export type WorkflowRouter = (request: Request) => Promise<Response | undefined>;

export function createRouter(handlers: WorkflowHandlers, basePath = WORKFLOW_BASE_PATH): WorkflowRouter {
  const base = basePath.replace(/\/+$/, "");
  return async (request) => {
    const { pathname } = new URL(request.url);
    if (!pathname.startsWith(`${base}/`)) return undefined;
    const rest = pathname.slice(base.length + 1);
    if (rest === "flow") return handlers.flow(request);
    if (rest === "step") return handlers.step(request);
    if (rest.startsWith("webhook/")) return handlers.webhook(request);
    if (rest.startsWith("streams/") && handlers.streams) return handlers.streams(request);
    return new Response(JSON.stringify({ error: `no workflow endpoint at ${pathname}` }), {
      status: 404,
      headers: { "content-type": "application/json" },
    });
  };
}
