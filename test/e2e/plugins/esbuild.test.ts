/**
 * Issue 5 item 6: an app bundled by esbuild with `workflow/esbuild` runs under plain `node` and nothing
 * else: the bundle embeds the workflow code, registers the steps and configures the local world.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import workflow from "workflow/esbuild";
import { copyFixture, type Fixture, lastResult, runPlainNode } from "./support.js";

// Inside this monorepo the workspace packages are bundled from their TypeScript sources.
const conditions = ["source"];

describe("workflow/esbuild", () => {
  let app: Fixture;
  beforeAll(() => {
    app = copyFixture("ts-app");
  });
  afterAll(() => app.cleanup());

  it("bundles an app whose `node dist/app.js` runs a workflow on the local world", async () => {
    await build({
      entryPoints: [app.file("src/app.ts")],
      absWorkingDir: app.dir,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      outfile: app.file("dist/app.js"),
      conditions,
      plugins: [workflow({ conditions })],
      logLevel: "silent",
    });
    const run = await runPlainNode(app, "dist/app.js");
    expect(lastResult(run)).toEqual({ total: 22, receipt: expect.stringMatching(/^paid:22:[0-9a-f]{8}$/) });
    expect(run.code).toBe(0);
    // the build output beside the bundle: workflow and step bundles, handlers and the manifest
    const manifest = JSON.parse(readFileSync(app.file(".workflow/manifest.json"), "utf8"));
    expect(Object.keys(manifest.workflows)).toEqual(["workflow//./src/workflows//order"]);
    expect(Object.keys(manifest.steps).sort()).toEqual([
      "step//./src/steps//price",
      "step//./src/steps//receipt",
    ]);
    for (const f of ["workflows.js", "steps.mjs", "handlers.mjs"])
      expect(existsSync(app.file(`.workflow/${f}`))).toBe(true);
  });

  it("fails the build when workflow code reaches a Node built-in, showing the import chain", async () => {
    writeFileSync(
      app.file("src/disk.ts"),
      'import { readFileSync } from "node:fs";\nexport const read = (p: string) => readFileSync(p, "utf8");\n',
    );
    writeFileSync(
      app.file("src/bad.ts"),
      'import { read } from "./disk.js";\nexport async function bad() {\n  "use workflow";\n  return read("x");\n}\n',
    );
    try {
      await expect(
        build({
          entryPoints: [app.file("src/app.ts")],
          absWorkingDir: app.dir,
          bundle: true,
          platform: "node",
          format: "esm",
          outfile: app.file("dist/bad.js"),
          conditions,
          plugins: [workflow({ conditions })],
          logLevel: "silent",
        }),
      ).rejects.toThrow(/src\/bad\.ts → src\/disk\.ts → node:fs/);
    } finally {
      for (const f of ["src/disk.ts", "src/bad.ts"]) writeFileSync(app.file(f), "");
    }
  });
});
