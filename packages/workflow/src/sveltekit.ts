/** `workflow/sveltekit`: `workflowPlugin()` for a SvelteKit app's Vite config (see plugins/unplugin). */
export { default, type SvelteKitWorkflowOptions, workflowPlugin } from "@wfkit/unplugin/sveltekit";
