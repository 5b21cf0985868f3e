/**
 * Code nested too deeply for swc used to crash whole processes with SIGSEGV (a native stack overflow in
 * `parseSync`/`transformSync`): `wf transform`, and any app running with `workflow/register`. In real
 * processes: they now exit with the NESTING_TOO_DEEP diagnostic and a non-zero code, and code nested just
 * under the limit runs end to end.
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { NESTING_LIMIT } from "@wfkit/compiler";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyProject, type NodeResult, type Project, resultOf, runNode } from "./support/process.js";

const wf = fileURLToPath(new URL("../../packages/workflow/bin/wf.js", import.meta.url));
const deep = (open: string, inner: string, close: string, n: number) =>
  `${open.repeat(n)}${inner}${close.repeat(n)}`;

function runWf(args: string[], cwd: string): Promise<NodeResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [wf, ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

describe("code nested too deeply for the parser", () => {
  let project: Project;
  beforeAll(() => {
    project = copyProject("basic");
    // 3,000 nested parentheses: swc overflowed at ~2,980 on the main thread, ~1,480 on the hooks thread.
    writeFileSync(
      project.file("src/deep-workflow.ts"),
      `export async function deep(x: number) {\n  "use workflow";\n  return ${deep("(", "x", ")", 3000)};\n}\n`,
    );
    writeFileSync(project.file("src/app-deep-workflow.ts"), 'import "./deep-workflow.js";\n');
    // No directive: only type stripping parses it.
    writeFileSync(project.file("src/deep-data.ts"), `export const data = ${deep("[", "1", "]", 3000)};\n`);
    writeFileSync(project.file("src/app-deep-data.ts"), 'import "./deep-data.js";\n');

    const depth = NESTING_LIMIT - 10;
    writeFileSync(
      project.file("src/near-limit.ts"),
      [
        "async function measure(v: number): Promise<number> {",
        '  "use step";',
        `  return JSON.stringify(${deep("[", "v", "]", depth)}).length;`,
        "}",
        "export async function nearLimit(x: number): Promise<number> {",
        '  "use workflow";',
        `  return measure(${deep("(", "x + 1", ")", depth)});`,
        "}",
        "",
      ].join("\n"),
    );
    writeFileSync(
      project.file("src/run-near-limit.ts"),
      [
        'import { start } from "workflow/api";',
        'import { nearLimit } from "./near-limit.js";',
        "const run = await start(nearLimit, [4]);",
        "const value = await run.returnValue;",
        'console.log("RESULT " + JSON.stringify({ value, status: await run.status }));',
        "",
      ].join("\n"),
    );
  });
  afterAll(() => project.cleanup());

  const expectDiagnostic = (result: NodeResult, file: string) => {
    expect(result.signal, result.stderr).toBeNull();
    expect(result.code, result.stderr).not.toBe(0);
    expect(result.stderr).toMatch(new RegExp(`${file}:\\d+:\\d+ NESTING_TOO_DEEP`));
    expect(result.stderr).toContain(`more than ${NESTING_LIMIT} levels deep`);
    expect(result.stderr).toContain("Split the expression");
  };

  it("`wf transform` exits with the diagnostic and code 1 instead of a signal", async () => {
    const result = await runWf(["transform", "src/deep-workflow.ts"], project.dir);
    expectDiagnostic(result, "src/deep-workflow\\.ts");
    expect(result.code).toBe(1);
  });

  it("an app importing such a workflow under workflow/register exits with the diagnostic", async () => {
    expectDiagnostic(
      await runNode(project, ["src/app-deep-workflow.ts"], { allowFailure: true }),
      "src/deep-workflow\\.ts",
    );
  });

  it("an app importing such a TypeScript file without directives exits with the diagnostic", async () => {
    expectDiagnostic(
      await runNode(project, ["src/app-deep-data.ts"], { allowFailure: true }),
      "src/deep-data\\.ts",
    );
  });

  it("a workflow and step nested just under the limit run to completion", async () => {
    const depth = NESTING_LIMIT - 10;
    expect(resultOf(await runNode(project, ["src/run-near-limit.ts"]))).toEqual({
      value: 2 * depth + 1, // "[[…[5]…]]"
      status: "completed",
    });
  });
});
