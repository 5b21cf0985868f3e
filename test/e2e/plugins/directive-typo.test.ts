/**
 * Issue 13 item 9: a misspelled directive (`"use workfow"`) in a file with no correct directive fails
 * `wf build` and a bundler build with the compiler's message, instead of the file being skipped by the cheap
 * text filters and the function silently running as plain code.
 */
import { writeFileSync } from "node:fs";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import workflow from "workflow/esbuild";
import type { CliIo } from "../../../packages/workflow/src/cli/io.js";
import { createProgram } from "../../../packages/workflow/src/cli/program.js";
import { copyFixture, type Fixture } from "./support.js";

const conditions = ["source"];
const TYPO = 'export async function typo(n: number) {\n  "use workfow";\n  return n;\n}\n';
const MESSAGE = 'Unknown directive "use workfow". Did you mean "use workflow"?';

describe("a misspelled directive", () => {
  let app: Fixture;
  beforeAll(() => {
    app = copyFixture("ts-app");
    writeFileSync(app.file("src/typo.ts"), TYPO);
  });
  afterAll(() => app.cleanup());

  it("fails `wf build`, naming the file and line", async () => {
    const err: string[] = [];
    let exitCode = 0;
    const io: CliIo = {
      out: () => {},
      err: (t) => err.push(t),
      exit: (c) => (exitCode = c),
      cwd: () => app.dir,
    };
    await createProgram(io).parseAsync(["node", "wf", "build", "--condition", "source"]);
    expect(exitCode).toBe(1);
    expect(err.join("")).toContain(MESSAGE);
    expect(err.join("")).toMatch(/src\/typo\.ts:2/);
  });

  it("fails an esbuild build with the plugin, also when only the app imports the file", async () => {
    writeFileSync(
      app.file("src/typo-app.ts"),
      'import { typo } from "./typo.js";\nconsole.log(await typo(1));\n',
    );
    await expect(
      build({
        entryPoints: [app.file("src/typo-app.ts")],
        absWorkingDir: app.dir,
        bundle: true,
        platform: "node",
        format: "esm",
        outfile: app.file("dist/typo.js"),
        conditions,
        plugins: [workflow({ conditions })],
        logLevel: "silent",
      }),
    ).rejects.toThrow(MESSAGE);
  });

  it("a top-level await the workflow reads fails `wf build` with the compiler's diagnostic and fix", async () => {
    const tla = copyFixture("ts-app");
    try {
      writeFileSync(
        tla.file("src/tla.ts"),
        'const config = await Promise.resolve({ factor: 3 });\nexport async function tla(n: number) {\n  "use workflow";\n  return n * config.factor;\n}\n',
      );
      const err: string[] = [];
      let exitCode = 0;
      const io: CliIo = {
        out: () => {},
        err: (t) => err.push(t),
        exit: (c) => (exitCode = c),
        cwd: () => tla.dir,
      };
      await createProgram(io).parseAsync(["node", "wf", "build", "--condition", "source"]);
      expect(exitCode).toBe(1);
      const text = err.join("");
      expect(text).toMatch(/src\/tla\.ts:1:\d+/);
      expect(text).toContain("TOP_LEVEL_AWAIT_IN_WORKFLOW_BUNDLE");
      expect(text).toContain('Move the awaited call into a "use step" function');
      expect(text).not.toMatch(/Top-level await is currently not supported/);
    } finally {
      tla.cleanup();
    }
  });
});
