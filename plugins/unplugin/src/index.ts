export { buildWorkflowOutput, type WorkflowOutput } from "./build-output.js";
export { DEV_ENTRY, HANDLERS, SERVER_ENTRY } from "./generated.js";
export { type ResolvedOptions, resolveOptions, type WorkflowPluginOptions } from "./options.js";
export { PLUGIN_NAME, unplugin, unpluginFactory } from "./plugin.js";
