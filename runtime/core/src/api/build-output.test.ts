import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { openBuildOutput } from "./build-output.js";

function buildDir(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), "wf-build-output-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

const manifest = (m: unknown) => JSON.stringify(m);

describe("openBuildOutput", () => {
  it("lists the manifest's workflow and step IDs and serves the bundle beside it", async () => {
    const dir = buildDir({
      "manifest.json": manifest({
        version: 1,
        workflows: { "workflow//./b//w": {}, "workflow//./a//w": {} },
        steps: { "step//./a//s": {} },
      }),
      "workflows.js": "/* bundle */",
      "steps.mjs": "",
    });
    const { info, codeProvider } = openBuildOutput(dir);
    expect(info).toEqual({
      dir,
      workflows: ["workflow//./a//w", "workflow//./b//w"],
      steps: ["step//./a//s"],
    });
    expect((await codeProvider.getWorkflowBundle()).code).toBe("/* bundle */");
  });

  it("refuses a folder without a manifest, an unreadable or foreign manifest, and a missing bundle", () => {
    expect(() => openBuildOutput(buildDir({}))).toThrow(/is not a workflow build\. Run `wf build`/);
    expect(() => openBuildOutput(buildDir({ "manifest.json": "{" }))).toThrow(/is not valid JSON/);
    expect(() => openBuildOutput(buildDir({ "manifest.json": manifest({ version: 1, steps: {} }) }))).toThrow(
      /expected version 1 with "workflows" and "steps"/,
    );
    const noSteps = buildDir({
      "manifest.json": manifest({ version: 1, workflows: {}, steps: {} }),
      "workflows.js": "",
    });
    expect(() => openBuildOutput(noSteps)).toThrow(/steps\.mjs is missing beside the manifest/);
  });
});
