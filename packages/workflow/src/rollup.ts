/** `workflow/rollup`: the workflow plugin for Rollup (see plugins/unplugin). */
export { default, type WorkflowPluginOptions, workflow } from "@wfkit/unplugin/rollup";
