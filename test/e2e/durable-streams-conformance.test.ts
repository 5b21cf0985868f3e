/**
 * The official Durable Streams conformance suite (`@durable-streams/server-conformance-tests`) against our server
 * on the local and Postgres worlds: `conformance/durable-streams.spec.ts`, run in a child Vitest (`conformance/vitest.config.ts`) with every
 * case of the suite, forks included.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { runVitest } from "./support/vitest-child.js";

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), "conformance");

it("passes the Durable Streams conformance suite on the local and Postgres worlds", {
  timeout: 600_000,
}, async () => {
  const run = await runVitest(dir);
  expect(run.failures, run.output.slice(-4000)).toEqual([]);
  expect(run.failed).toBe(0);
  // 332 cases per world: all of the suite's 338 (forks included) but its six reserved subscription cases, which
  // it runs only when asked to (`subscriptions: true`; webhooks and wake leases, not the stream protocol).
  expect(run.passed).toBeGreaterThanOrEqual(664);
});
