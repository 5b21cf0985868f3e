import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { makeProject, removeProjects } from "./__tests__/project.js";
import { buildProject } from "./build-project.js";

afterAll(removeProjects);

describe("buildProject", () => {
  it("discovers, builds both bundles and writes the manifest into one folder, repeatably", async () => {
    const root = makeProject({
      "package.json": JSON.stringify({ name: "p", type: "module" }),
      "src/flow.ts": [
        "async function fetchUser(id: string) {",
        '  "use step";',
        "  return { id };",
        "}",
        "export async function onboard(id: string) {",
        '  "use workflow";',
        "  return fetchUser(id);",
        "}",
        "",
      ].join("\n"),
    });
    const first = await buildProject({ projectRoot: root, outDir: "build/wf" });
    expect(first.entries).toEqual([path.join(root, "src", "flow.ts")]);
    for (const file of [
      first.workflowBundle,
      first.stepBundle,
      `${first.stepBundle}.map`,
      first.manifestFile,
    ]) {
      expect(existsSync(file)).toBe(true);
    }
    expect(path.dirname(first.manifestFile)).toBe(path.join(root, "build", "wf"));
    expect(Object.keys(first.manifest.workflows)).toEqual(["workflow//src/flow.ts//onboard"]);
    expect(Object.keys(first.manifest.steps)).toEqual(["step//src/flow.ts//fetchUser"]);
    expect(JSON.parse(readFileSync(first.manifestFile, "utf8"))).toEqual(first.manifest);
    // the written bundles (which mention the directives) must not be discovered on the next build
    const second = await buildProject({ projectRoot: root, outDir: "build/wf" });
    expect(second.entries).toEqual(first.entries);
    expect(second.manifest).toEqual(first.manifest);
  });
});
