import { defineNitroConfig } from "nitropack/config";

export default defineNitroConfig({
  srcDir: "server",
  modules: ["workflow/nitro"],
  compatibilityDate: "2025-01-01",
});
