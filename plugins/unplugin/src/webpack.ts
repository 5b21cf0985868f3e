/** `workflow/webpack`: the workflow plugin for Webpack. See plugin.ts for what it does. */
import { unplugin } from "./plugin.js";

export const workflow = unplugin.webpack;
export default workflow;
export type { WorkflowPluginOptions } from "./options.js";
