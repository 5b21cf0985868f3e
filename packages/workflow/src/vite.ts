/** `workflow/vite`: the workflow plugin for Vite (see plugins/unplugin). */
export { default, type WorkflowPluginOptions, workflow } from "@wfkit/unplugin/vite";
