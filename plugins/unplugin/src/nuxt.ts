/**
 * `workflow/nuxt`: a Nuxt module (`modules: ["workflow/nuxt"]`, options under the config's `workflow` key).
 * Nuxt's server (`server/api`, `server/routes`, …) is a Nitro app, so the module installs `workflow/nitro`
 * into it: workflows start from server routes, and Nitro answers `/.well-known/workflow/v1/*`.
 */
import { type ModuleOptions, type NitroLike, setupWorkflow } from "./nitro.js";

export type { ModuleOptions } from "./nitro.js";

/** The part of Nuxt used here, typed structurally so the module does not depend on a Nuxt version. */
interface NuxtLike {
  options: {
    rootDir: string;
    workflow?: ModuleOptions;
    nitro: { modules?: unknown[] };
  };
}

/** A Nuxt module is a function of its inline options and the Nuxt instance (what `defineNuxtModule` makes). */
function workflowNuxtModule(inlineOptions: ModuleOptions | undefined, nuxt: NuxtLike): void {
  const options: ModuleOptions = {
    projectRoot: nuxt.options.rootDir,
    ...nuxt.options.workflow,
    ...inlineOptions,
  };
  nuxt.options.nitro.modules = [
    ...(nuxt.options.nitro.modules ?? []),
    { name: "workflow", setup: (nitro: NitroLike) => setupWorkflow(nitro, options) },
  ];
}

workflowNuxtModule.getMeta = async () => ({ name: "workflow", configKey: "workflow" });
workflowNuxtModule.getOptions = async (inlineOptions?: ModuleOptions) => inlineOptions ?? {};

export default workflowNuxtModule;
