/** `workflow/nitro`: the Nitro module (`modules: ["workflow/nitro"]`; see plugins/unplugin). */
export { default, type ModuleOptions, setupWorkflow } from "@wfkit/unplugin/nitro";
