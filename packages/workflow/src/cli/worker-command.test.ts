import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runWf } from "./__tests__/run-wf.js";

// Only the refusals run in-process: a worker that starts keeps an interval (and a world) open; the
// success path is the e2e test test/e2e/postgres-build-worker.test.ts.
describe("wf worker", () => {
  const project = mkdtempSync(path.join(tmpdir(), "wf-worker-"));

  it("--build without a build folder says to run wf build, with exit code 1", async () => {
    const res = await runWf(["worker", "--build"], project);
    expect(res.exitCode).toBe(1);
    expect(res.stdout).toBe("");
    expect(res.stderr).toContain(path.join(project, ".workflow", "manifest.json"));
    expect(res.stderr).toMatch(/Run `wf build`/);
  });

  it("--build <dir> is resolved against the cwd and its manifest is checked before anything starts", async () => {
    const dir = path.join(project, "out");
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, "manifest.json"), JSON.stringify({ version: 7, workflows: {}, steps: {} }));
    const wrongVersion = await runWf(["worker", "--build", "out"], project);
    expect(wrongVersion.exitCode).toBe(1);
    expect(wrongVersion.stderr).toMatch(/found version 7/);

    writeFileSync(path.join(dir, "manifest.json"), JSON.stringify({ version: 1, workflows: {}, steps: {} }));
    writeFileSync(path.join(dir, "workflows.js"), "");
    const incomplete = await runWf(["worker", "--build", "out"], project);
    expect(incomplete.exitCode).toBe(1);
    expect(incomplete.stderr).toContain(`${path.join(dir, "steps.mjs")} is missing`);
  });

  it("refuses a sweep interval that is not a positive number", async () => {
    const res = await runWf(["worker", "--sweep", "0"], project);
    expect(res.exitCode).toBe(1);
    expect(res.stderr).toMatch(/--sweep must be a positive number of milliseconds, got "0"/);
  });
});
