import { defineConfig } from "vitest/config";
import { workflow } from "workflow/vitest";

export default defineConfig({
  plugins: [workflow()],
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
  },
});
