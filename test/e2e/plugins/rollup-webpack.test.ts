/**
 * The Rollup and webpack adapters build a JavaScript fixture app in-process; the output runs with plain
 * `node` on the local world. The runtime packages stay external (resolved from node_modules at run time,
 * their built `dist`), as an app's dependencies usually are in a server bundle.
 */
import path from "node:path";
import { rollup } from "rollup";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import webpack from "webpack";
import workflowRollup from "workflow/rollup";
import workflowWebpack from "workflow/webpack";
import { copyFixture, type Fixture, lastResult, runPlainNode } from "./support.js";

const conditions = ["source"];
const isRuntimePackage = (id: string) => /^(workflow|@wfkit\/[^/]+)(\/|$)/.test(id) || id.startsWith("node:");
const expected = { value: 20, fingerprint: expect.stringMatching(/^[0-9a-f]{8}$/) };

describe("workflow/rollup", () => {
  let app: Fixture;
  beforeAll(() => {
    app = copyFixture("js-app");
  });
  afterAll(() => app.cleanup());

  it("builds an app whose output runs a workflow with plain node", async () => {
    const bundle = await rollup({
      input: app.file("src/app.js"),
      external: isRuntimePackage,
      plugins: [workflowRollup({ projectRoot: app.dir, conditions })],
      onwarn: () => {},
    });
    await bundle.write({ file: app.file("dist/app.mjs"), format: "es" });
    await bundle.close();
    const run = await runPlainNode(app, "dist/app.mjs");
    expect(lastResult(run)).toEqual(expected);
  });
});

describe("workflow/webpack", () => {
  let app: Fixture;
  beforeAll(() => {
    app = copyFixture("js-app");
  });
  afterAll(() => app.cleanup());

  it("builds an app whose output runs a workflow with plain node", async () => {
    const compiler = webpack({
      mode: "production",
      context: app.dir,
      target: "node20",
      entry: app.file("src/app.js"),
      devtool: false,
      optimization: { minimize: false },
      experiments: { outputModule: true },
      output: { path: app.file("dist"), filename: "app.mjs", module: true, chunkFormat: "module" },
      externalsType: "module",
      externals: [
        ({ request }, callback) =>
          callback(undefined, request && isRuntimePackage(request) ? request : undefined),
      ],
      plugins: [workflowWebpack({ conditions })],
    });
    const stats = await new Promise<webpack.Stats>((resolve, reject) =>
      compiler.run((error, result) => (error || !result ? reject(error) : resolve(result))),
    );
    await new Promise<void>((resolve) => compiler.close(() => resolve()));
    expect(stats.hasErrors(), stats.toString({ all: false, errors: true })).toBe(false);
    expect(path.basename(stats.toJson({ all: false, outputPath: true }).outputPath ?? "")).toBe("dist");
    const run = await runPlainNode(app, "dist/app.mjs");
    expect(lastResult(run)).toEqual(expected);
  });
});
