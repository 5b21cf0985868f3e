/**
 * `workflow/vitest` and `workflow/testing` as users run them: Vitest in a child process on a project with the
 * `workflow()` plugin in its vitest.config.ts. The example's own test file and the testing guide's examples
 * (docs/testing.md) both run here.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runVitest } from "./support/vitest-child.js";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

describe("workflow tests in Vitest", () => {
  it("runs examples/node-basic's tests (mockStep, virtual time, replayRun, waitForHook/Sleep, wakeUp)", async () => {
    const result = await runVitest(path.join(repo, "examples", "node-basic"));
    expect(result.failures, result.output).toEqual([]);
    expect(result.code, result.output).toBe(0);
    expect(result.passed).toBe(7);
  }, 120_000);
});
