import { defineConfig } from "vitest/config";

/** The Durable Streams conformance suite, run by ../durable-streams-conformance.test.ts in a child Vitest. */
export default defineConfig({
  resolve: { conditions: ["source"] },
  ssr: { resolve: { conditions: ["source"] } },
  test: {
    include: ["*.spec.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
