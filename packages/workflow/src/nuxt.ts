/** `workflow/nuxt`: the Nuxt module (`modules: ["workflow/nuxt"]`; see plugins/unplugin). */
export { default, type ModuleOptions } from "@wfkit/unplugin/nuxt";
