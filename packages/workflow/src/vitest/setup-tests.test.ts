import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { buildWorkflowTests, OPTIONS_ENV, resolveTestOptions } from "./setup-tests.js";

const example = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../../examples/node-basic");
const out = mkdtempSync(path.join(tmpdir(), "wf-build-tests-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe("WorkflowTestOptions", () => {
  it("resolves relative paths against cwd, with rootDir as the default parent", () => {
    delete process.env[OPTIONS_ENV];
    expect(resolveTestOptions({ cwd: "/p", rootDir: "artifacts" })).toEqual({
      cwd: "/p",
      rootDir: "/p/artifacts",
      dataDir: "/p/artifacts/.workflow-data",
      outDir: "/p/artifacts/.workflow-vitest",
    });
    expect(resolveTestOptions({ cwd: "/p", dataDir: "d" }).dataDir).toBe("/p/d");
  });

  it("takes what the plugin passed through the environment, explicit options winning", () => {
    process.env[OPTIONS_ENV] = JSON.stringify({ cwd: "/from-plugin", outDir: "o" });
    try {
      expect(resolveTestOptions()).toMatchObject({ cwd: "/from-plugin", outDir: "/from-plugin/o" });
      expect(resolveTestOptions({ cwd: "/mine" }).cwd).toBe("/mine");
    } finally {
      delete process.env[OPTIONS_ENV];
    }
  });
});

describe("buildWorkflowTests", () => {
  it("compiles every workflow file of the project into the cache", async () => {
    const files = await buildWorkflowTests({ cwd: example, outDir: out });
    expect(files.map((f) => path.relative(example, f)).sort()).toEqual(["src/order.ts", "src/refund.ts"]);
    expect(readdirSync(out).length).toBeGreaterThanOrEqual(2);
  }, 60_000);
});
