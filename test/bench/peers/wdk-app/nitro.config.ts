// As in WDK's Nitro guide (useworkflow.dev/docs/getting-started/nitro): Nitro v3 + the `workflow/nitro` module.
import { defineConfig } from "nitro";

export default defineConfig({
  serverDir: "./server",
  modules: ["workflow/nitro"],
});
