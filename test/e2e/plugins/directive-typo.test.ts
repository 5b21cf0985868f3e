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
});
