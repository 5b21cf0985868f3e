/**
 * `workflow/astro`: the `workflow()` Astro integration. It adds the workflow Vite plugin (compiling, and in
 * `astro dev` the endpoints) and injects one server-rendered route, `/.well-known/workflow/v1/[...path]`,
 * that hands each request to the runtime, so built apps answer those paths through Astro's own server (an
 * adapter such as `@astrojs/node` is needed, as for any on-demand route).
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { GENERATED_HEADER, writeFileIfChanged } from "./framework-files.js";
import { resolveOptions, type WorkflowPluginOptions } from "./options.js";
import { FRAMEWORK_ROUTES, unplugin } from "./plugin.js";
import { ROUTES_MODULE } from "./routes-module.js";

export const ASTRO_ROUTE = "astro-route.mjs";
const PATTERN = "/.well-known/workflow/v1/[...path]";

export function astroRouteSource(): string {
  return `${GENERATED_HEADER}import { handle } from ${JSON.stringify(ROUTES_MODULE)};

export const prerender = false;
/** Every method on every path under /.well-known/workflow/v1/ goes to the workflow runtime. */
export const ALL = ({ request }) => handle(request);
`;
}

/** The part of Astro's `astro:config:setup` argument used here, typed structurally (Astro 5 and later). */
interface AstroSetup {
  config: { root: URL };
  updateConfig(config: { vite: { plugins: unknown[] } }): unknown;
  injectRoute(route: { pattern: string; entrypoint: string; prerender?: boolean }): void;
}

export function workflow(options: WorkflowPluginOptions = {}) {
  return {
    name: "workflow",
    hooks: {
      "astro:config:setup": ({ config, updateConfig, injectRoute }: AstroSetup) => {
        const resolved = resolveOptions(options, fileURLToPath(config.root));
        const pluginOptions = { ...options, projectRoot: resolved.projectRoot, [FRAMEWORK_ROUTES]: true };
        updateConfig({ vite: { plugins: [unplugin.vite(pluginOptions as WorkflowPluginOptions)] } });
        // The entry lives in the output folder, which the workflow build owns and git ignores.
        const entrypoint = path.join(resolved.outDir, ASTRO_ROUTE);
        writeFileIfChanged(entrypoint, astroRouteSource());
        injectRoute({ pattern: PATTERN, entrypoint, prerender: false });
      },
    },
  };
}

export default workflow;
