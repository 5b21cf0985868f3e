/** `workflow/vite`: the workflow plugin for Vite. See plugin.ts for what it does. */
import { unplugin } from "./plugin.js";

export const workflow = unplugin.vite;
export default workflow;
export type { WorkflowPluginOptions } from "./options.js";
