/** `workflow/astro`: the `workflow()` Astro integration (see plugins/unplugin). */

export type { WorkflowPluginOptions } from "@wfkit/unplugin";
export { default, workflow } from "@wfkit/unplugin/astro";
