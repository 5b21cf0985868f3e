import { defineConfig } from "vitest/config";

/**
 * The Durable Streams conformance suite, run by ../durable-streams-conformance.test.ts in a child Vitest. The
 * suite registers every test itself, so the cases that do not apply are left out here by name: forks
 * (`Stream-Forked-From`: run streams are never forked, the server answers 501 Not Implemented).
 */
export default defineConfig({
  resolve: { conditions: ["source"] },
  ssr: { resolve: { conditions: ["source"] } },
  test: {
    include: ["*.spec.ts"],
    testNamePattern: /^(?!.* Fork - ).*$/,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
