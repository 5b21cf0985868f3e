/**
 * Issue 5 item 6: an app bundled by esbuild with `workflow/esbuild` runs under plain `node` and nothing
 * else: the bundle embeds the workflow code, registers the steps and configures the local world.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
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
    // WDK's ID scheme: the path relative to the project root, extension kept
    expect(Object.keys(manifest.workflows)).toEqual(["workflow//src/workflows.ts//order"]);
    expect(Object.keys(manifest.steps).sort()).toEqual([
      "step//src/steps.ts//price",
      "step//src/steps.ts//receipt",
    ]);
    for (const f of ["workflows.js", "steps.mjs", "handlers.mjs"])
      expect(existsSync(app.file(`.workflow/${f}`))).toBe(true);
  });

  it("runs a workflow imported from a folder outside the project root, under one ID everywhere", async () => {
    // `<app>-shared/` is a sibling of the app folder with no package.json of its own
    const shared = `${app.dir}-shared`;
    mkdirSync(shared, { recursive: true });
    writeFileSync(
      path.join(shared, "flows.ts"),
      'async function twice(n: number) {\n  "use step";\n  return n * 2;\n}\n' +
        'export async function sibling(n: number) {\n  "use workflow";\n  return { doubled: await twice(n) };\n}\n',
    );
    writeFileSync(
      app.file("src/sibling-app.ts"),
      `import { start } from "workflow/api";\nimport { sibling } from "../../${path.basename(shared)}/flows.js";\n` +
        "const run = await start(sibling, [21]);\n" +
        'console.log("RESULT " + JSON.stringify({ id: (sibling as unknown as { workflowId: string }).workflowId, ...(await run.returnValue) }));\n',
    );
    try {
      await build({
        entryPoints: [app.file("src/sibling-app.ts")],
        absWorkingDir: app.dir,
        bundle: true,
        platform: "node",
        format: "esm",
        target: "node20",
        outfile: app.file("dist/sibling.js"),
        conditions,
        plugins: [workflow({ conditions })],
        logLevel: "silent",
      });
      const run = await runPlainNode(app, "dist/sibling.js");
      const result = lastResult(run) as { id: string; doubled: number };
      expect(result.doubled, run.stderr).toBe(42);
      expect(run.code).toBe(0);
      // the client shape in the app bundle and the build manifest name the workflow alike
      const manifest = JSON.parse(readFileSync(app.file(".workflow/manifest.json"), "utf8"));
      expect(Object.keys(manifest.workflows)).toContain(result.id);
      expect(result.id).toMatch(/^workflow\/\/.+\/flows\.ts\/\/sibling$/);
    } finally {
      rmSync(shared, { recursive: true, force: true });
      rmSync(app.file("src/sibling-app.ts"), { force: true });
    }
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
