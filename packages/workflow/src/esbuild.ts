/** `workflow/esbuild`: the workflow plugin for Esbuild (see plugins/unplugin). */
export { default, type WorkflowPluginOptions, workflow } from "@wfkit/unplugin/esbuild";
