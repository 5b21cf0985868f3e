/**
 * The official Durable Streams conformance suite (`@durable-streams/server-conformance-tests`) against our server
 * on the local and Postgres worlds: `conformance/durable-streams.spec.ts`, run in a child Vitest whose config
 * (`conformance/vitest.config.ts`) leaves out the fork cases, which do not apply (see there).
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
  // 250 cases per world (the suite's 338 less its 88 fork cases).
  expect(run.passed).toBeGreaterThanOrEqual(500);
});
