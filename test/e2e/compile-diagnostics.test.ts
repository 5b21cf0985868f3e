/**
 * Issue 13 item 9 under `node --import workflow/register` (real processes): a misspelled directive and a
 * top-level `await` that would stay in the workflow bundle stop the program when the file is imported, with
 * the compiler's diagnostic (file, line, fix), never later as a bundler error in the middle of a run; a
 * top-level `await` that only steps read works. Item 1: the IDs are the same whatever the process's cwd, and
 * `start()` takes an ID string (also in the form runs recorded before WDK's scheme carry).
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyProject, type Project, resultOf, runNode } from "./support/process.js";

describe("compile-time diagnostics under workflow/register", () => {
  let project: Project;
  beforeAll(() => {
    project = copyProject("compile-diagnostics");
  });
  afterAll(() => project?.cleanup());

  it('stops at import on "use workfow", naming the file, the line and the directive meant', async () => {
    const result = await runNode(project, ["src/typo-app.ts"], { allowFailure: true });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/typo\.ts:3:\d+/);
    expect(result.stderr).toContain('Unknown directive "use workfow". Did you mean "use workflow"?');
    expect(result.stdout).not.toContain("RESULT");
  });

  it("stops at import on a top-level await the workflow reads, with the fix, and no bundler error", async () => {
    const result = await runNode(project, ["src/tla-app.ts"], { allowFailure: true });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/tla\.ts:2:\d+/);
    expect(result.stderr).toContain("TOP_LEVEL_AWAIT_IN_WORKFLOW_BUNDLE");
    expect(result.stderr).toContain('"use step"');
    expect(result.stderr).not.toMatch(/esbuild|Top-level await is currently not supported/);
    expect(result.stdout).not.toContain("RESULT");
  });

  it("runs a workflow whose file awaits at top level a value only its steps read", async () => {
    const result = resultOf(await runNode(project, ["src/tla-steps-app.ts"]));
    expect(result).toEqual({ id: "workflow//src/tla-steps.ts//tlaSteps", value: 10 });
  });

  it("gives the same IDs when the process starts in a subfolder of the project", async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--import", "workflow/register", "tla-steps-app.ts"],
      {
        cwd: project.file("src"),
        env: { ...process.env, WORKFLOW_LOCAL_DATA_DIR: project.dataDir, WORKFLOW_TARGET_WORLD: "local" },
      },
    );
    const line = stdout.split("\n").find((l) => l.startsWith("RESULT "))!;
    expect(JSON.parse(line.slice("RESULT ".length))).toEqual({
      id: "workflow//src/tla-steps.ts//tlaSteps",
      value: 10,
    });
  });

  it("starts a workflow by its ID string, also one in the form recorded before WDK's scheme", async () => {
    const result = resultOf(await runNode(project, ["src/start-by-id.ts"]));
    expect(result).toEqual({ current: 10, earlier: 15 });
  });
});
