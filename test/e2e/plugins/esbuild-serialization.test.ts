/**
 * Issue 13 item 5 through `workflow/esbuild` (the app bundle, the workflow bundle and the step bundle all
 * compiled by the plugin), run with plain `node`: serializable classes with no registration call,
 * instance-method steps with `this`, and step functions as values, as in `test/e2e/wdk-serialization.test.ts`.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import workflow from "workflow/esbuild";
import { copyIntoTmp } from "../support/process.js";
import { type Fixture, lastResult, runPlainNode } from "./support.js";

const conditions = ["source"];
const here = path.dirname(fileURLToPath(import.meta.url));

describe("WDK serialization cases bundled by workflow/esbuild", () => {
  let app: Fixture;
  beforeAll(() => {
    app = copyIntoTmp(path.join(here, "..", "projects", "wdk-serialization"), "plugins-wdk-serialization");
  });
  afterAll(() => app.cleanup());

  const bundle = (entry: string, out: string) =>
    build({
      entryPoints: [app.file(entry)],
      absWorkingDir: app.dir,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      outfile: app.file(out),
      conditions,
      plugins: [workflow({ conditions })],
      logLevel: "silent",
    });

  it("revives serializable classes everywhere and gives instance-method steps their this", async () => {
    await bundle("src/run.ts", "dist/run.js");
    const run = await runPlainNode(app, "dist/run.js");
    expect(lastResult(run), run.stderr).toEqual({
      doubled: { x: 20, y: 40 },
      stepSawPoint: true,
      workflowSawPoint: true,
      appSawPoint: true,
      total: 25,
      isCounter: true,
    });
  });

  it("passes step functions as values", async () => {
    await bundle("src/run-step-functions.ts", "dist/run-step-functions.js");
    const run = await runPlainNode(app, "dist/run-step-functions.js");
    expect(lastResult(run), run.stderr).toEqual({
      passing: 40,
      returned: 21,
      self: 300,
      closure: "Wrapped: Result: 21",
    });
  });
});
