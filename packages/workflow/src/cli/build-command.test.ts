import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runWf } from "./__tests__/run-wf.js";

function project(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), "wf-build-"));
  writeFileSync(path.join(dir, "package.json"), '{"name":"wf-build-unit","type":"module"}');
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), text);
  }
  return dir;
}

describe("wf build", () => {
  it("writes bundles, handlers and manifest into the output folder and says what it built", async () => {
    const dir = project({
      "src/flow.ts":
        'export async function s(n: number) {\n  "use step";\n  return n + 1;\n}\nexport async function w() {\n  "use workflow";\n  return s(1);\n}\n',
    });
    const result = await runWf(["build", "--out-dir", "out"], dir);
    expect(result.stderr).toBe("");
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^Built 1 workflow and 1 step from 1 file into out\//);
    for (const f of ["workflows.js", "workflows.js.map", "steps.mjs", "handlers.mjs", "manifest.json"])
      expect(existsSync(path.join(dir, "out", f)), f).toBe(true);
  });

  it("fails with exit code 1 and the import chain when workflow code reaches a Node built-in", async () => {
    const dir = project({
      "src/util.ts": 'import os from "node:os";\nexport const host = () => os.hostname();\n',
      "src/flow.ts":
        'import { host } from "./util.js";\nexport async function w() {\n  "use workflow";\n  return host();\n}\n',
    });
    const result = await runWf(["build"], dir);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain("src/flow.ts → src/util.ts → node:os");
  });
});
