import { workflow } from "@workflow/vitest";
import { defineConfig } from "vitest/config";

// The manual setup: the plugin only compiles, and the setup functions run where the project says.
export default defineConfig({
  plugins: [workflow({ autoSetup: false, rootDir: "./test-artifacts" })],
  test: {
    globalSetup: "./vitest.manual.setup.ts",
    setupFiles: ["./vitest.manual.env.ts"],
  },
});
