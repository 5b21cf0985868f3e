/**
 * `workflow/nitro`: a Nitro module (`modules: ["workflow/nitro"]`, options under the config's `workflow` key).
 *
 * Nitro bundles the server with Rollup in `nitro build` and in `nitro dev` alike, so the module adds the
 * workflow Rollup plugin (compiling, the workflow bundles, rebuilding them on change in dev) and registers one
 * handler for `/.well-known/workflow/v1/**`. The handler is a Nitro virtual module (no file in the app) and is
 * not lazy, so loading the server loads the runtime and resumes the runs an earlier process left pending.
 *
 * Tested with Nitro 2 (`nitropack`, h3 1): the handler converts the h3 event with h3's `toWebRequest`.
 */
import path from "node:path";
import { resolveOptions, type WorkflowPluginOptions } from "./options.js";
import { unplugin } from "./plugin.js";
import { ROUTES_MODULE } from "./routes-module.js";

/** The module's options: the `workflow` key of the Nitro config (the bundler plugins' options). */
export type ModuleOptions = WorkflowPluginOptions;

const HANDLER_ID = "#workflow/handler";
const ROUTE = "/.well-known/workflow/v1/**";

/** The part of Nitro used here, typed structurally so the module does not depend on a Nitro version. */
export interface NitroLike {
  options: {
    rootDir: string;
    workflow?: ModuleOptions;
    handlers: Array<{ route: string; handler: string; lazy?: boolean }>;
    virtual: Record<string, string | (() => string | Promise<string>)>;
    moduleSideEffects?: string[];
    externals?: { inline?: unknown[] };
  };
  hooks: { hook(name: "rollup:before", fn: (nitro: NitroLike, config: RollupConfigLike) => void): unknown };
}

interface RollupConfigLike {
  plugins?: unknown;
}

export function handlerSource(): string {
  return `import { defineEventHandler, toWebRequest } from "h3";
import { handle } from ${JSON.stringify(ROUTES_MODULE)};

export default defineEventHandler((event) => handle(toWebRequest(event)));
`;
}

/** Installs the workflow integration into a Nitro instance; `options` win over the config's `workflow` key. */
export function setupWorkflow(nitro: NitroLike, options: ModuleOptions = {}): void {
  const pluginOptions: ModuleOptions = {
    projectRoot: nitro.options.rootDir,
    ...nitro.options.workflow,
    ...options,
  };
  // Nitro tree-shakes every module it is not told has side effects, and the generated server entry is
  // imported for its side effects only (runtime configured, every step registered, pending runs resumed).
  const { outDir } = resolveOptions(pluginOptions);
  nitro.options.moduleSideEffects = [...(nitro.options.moduleSideEffects ?? []), `${outDir}${path.sep}`];
  // `nitro dev` leaves every module Node can load to Node; the server entry must be bundled, because it
  // imports the app's directive files, TypeScript included.
  nitro.options.externals = {
    ...nitro.options.externals,
    inline: [...(nitro.options.externals?.inline ?? []), `${outDir}${path.sep}`],
  };
  nitro.options.virtual[HANDLER_ID] = handlerSource();
  nitro.options.handlers.push({ route: ROUTE, handler: HANDLER_ID, lazy: false });
  nitro.hooks.hook("rollup:before", (_nitro, config) => {
    const existing = config.plugins;
    const plugins = Array.isArray(existing) ? existing : existing ? [existing] : [];
    // First, so directive files reach the compiler as written, before Nitro's esbuild strips their types.
    config.plugins = [unplugin.rollup(pluginOptions), ...plugins];
  });
}

const nitroModule = {
  name: "workflow",
  setup: (nitro: NitroLike) => setupWorkflow(nitro),
};

export default nitroModule;
