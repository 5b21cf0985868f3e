/** `workflow/astro`: the `workflow()` Astro integration (see plugins/unplugin). */
export { default, workflow } from "@wfkit/unplugin/astro";
export type { WorkflowPluginOptions } from "@wfkit/unplugin";
