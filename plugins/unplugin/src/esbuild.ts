/** `workflow/esbuild`: the workflow plugin for Esbuild. See plugin.ts for what it does. */
import { unplugin } from "./plugin.js";

export const workflow = unplugin.esbuild;
export default workflow;
export type { WorkflowPluginOptions } from "./options.js";
