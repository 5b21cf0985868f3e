/** `workflow/rollup`: the workflow plugin for Rollup. See plugin.ts for what it does. */
import { unplugin } from "./plugin.js";

export const workflow = unplugin.rollup;
export default workflow;
export type { WorkflowPluginOptions } from "./options.js";
