/** `workflow/webpack`: the workflow plugin for Webpack (see plugins/unplugin). */
export { default, type WorkflowPluginOptions, workflow } from "@wfkit/unplugin/webpack";
