/**
 * `virtual:workflow/routes`: one Web handler for every path under `/.well-known/workflow/v1/`, for framework
 * routes that the integrations generate (a SvelteKit `+server.js`, an Astro injected route, a Nitro handler).
 *
 * It is virtual, unlike the other generated modules, because the same route file must load the runtime
 * differently per mode: in a build it imports the server entry (workflow bundle embedded, every step
 * registered, pending runs resumed); in Vite's dev server the dev entry (bundles re-read after each rebuild).
 * Only the bundler that runs the plugin ever sees the ID, and each framework here bundles its server routes.
 */
export const ROUTES_MODULE = "virtual:workflow/routes";
export const RESOLVED_ROUTES_MODULE = `\0${ROUTES_MODULE}`;

export function routesModuleSource(entry: string): string {
  return `import ${JSON.stringify(entry)};
import { createHandlers, createRouter } from "workflow/runtime";

const router = createRouter(createHandlers());

/** Answers a request under /.well-known/workflow/v1/; 404 for a path the runtime does not serve. */
export async function handle(request) {
  return (await router(request)) ?? new Response(null, { status: 404 });
}
`;
}
