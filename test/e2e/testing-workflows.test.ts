/**
 * `workflow/vitest` and `workflow/testing` as users run them: Vitest in a child process on a project with the
 * `workflow()` plugin in its vitest.config.ts. The example's own test file and the testing guide's examples
 * (docs/testing.md) both run here.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runVitest } from "./support/vitest-child.js";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

describe("workflow tests in Vitest", () => {
  it("runs examples/node-basic's tests (mockStep, virtual time, replayRun, waitForHook/Sleep, wakeUp, vi.mock in steps)", async () => {
    const result = await runVitest(path.join(repo, "examples", "node-basic"));
    expect(result.failures, result.output).toEqual([]);
    expect(result.code, result.output).toBe(0);
    expect(result.passed).toBe(8);
  }, 120_000);

  it("runs every titled example of docs/testing.md as a project", async () => {
    const guide = readFileSync(path.join(repo, "docs", "testing.md"), "utf8");
    const files = [...guide.matchAll(/```ts title="([^"]+)"\n([\s\S]*?)```/g)].map((m) => ({
      name: m[1]!,
      code: m[2]!,
    }));
    expect(files.map((f) => f.name)).toEqual(
      expect.arrayContaining(["vitest.config.ts", "workflows/approval.ts", "workflows/replay.test.ts"]),
    );
    // Outside the repository, so that the root Vitest run never collects these files (even if a crash leaves them),
    // with the repository's node_modules linked in so that `workflow` and `vitest` resolve as in a user's project.
    const dir = mkdtempSync(path.join(tmpdir(), "docs-testing-"));
    symlinkSync(path.join(repo, "node_modules"), path.join(dir, "node_modules"), "dir");
    const project = {
      dir,
      file: (rel: string) => path.join(dir, rel),
      cleanup: () => rmSync(dir, { recursive: true, force: true }),
    };
    try {
      writeFileSync(
        project.file("package.json"),
        '{ "name": "docs-testing", "private": true, "type": "module" }\n',
      );
      for (const f of files) {
        mkdirSync(path.dirname(project.file(f.name)), { recursive: true });
        writeFileSync(project.file(f.name), f.code);
      }
      const tests = files.filter((f) => f.name.endsWith(".test.ts")).length;
      const result = await runVitest(project.dir);
      expect(result.failures, result.output).toEqual([]);
      expect(result.code, result.output).toBe(0);
      // Every test of the guide ran (none was skipped or lost).
      const declared = files.reduce((n, f) => n + (f.code.match(/^\s*it\(/gm)?.length ?? 0), 0);
      expect(tests).toBeGreaterThanOrEqual(5);
      expect(result.passed).toBe(declared);
    } finally {
      project.cleanup();
    }
  }, 180_000);
});
