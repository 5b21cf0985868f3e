import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: { conditions: ["source"] },
  ssr: { resolve: { conditions: ["source"] } },
  test: {
    include: [
      "{packages,runtime,plugins,examples}/*/src/**/*.test.ts",
      "test/e2e/**/*.test.ts",
      "test/fixtures/*.test.ts",
      "test/docs/*.test.ts",
    ],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
