/**
 * Stacks under `node --import workflow/register`, in real processes: the frame that threw names the file, line
 * and column of the user's source (1-based, as Node prints them) wherever the error is shown: the rejection of
 * `run.returnValue`, the error recorded on the run, and `wf inspect`. A step and the workflow bundle of the same
 * file run under different names, so neither source map is ever applied to the other's frames.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyProject, type Project, resultOf, runNode } from "./support/process.js";
import { positionOf, throwingFrame } from "./support/source-position.js";

const wfBin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../packages/workflow/bin/wf.js");

describe("stacks under workflow/register", () => {
  let project: Project;
  beforeAll(() => {
    project = copyProject("basic");
  });
  afterAll(() => project.cleanup());

  const inspect = async (runId: string, json: boolean) =>
    (
      await runNode(project, [wfBin, "inspect", "run", runId, ...(json ? ["--json"] : [])], {
        register: false,
      })
    ).stdout;

  it.each([
    ["a step", "failing", "at failsWith (", "new FatalError(message)"],
    [
      "the workflow body",
      "throwsInBody",
      "at throwsInBody (",
      'new TypeError("thrown by the workflow body")',
    ],
  ])("names the source position of an error thrown in %s", async (_, workflow, frame, thrownAt) => {
    const expected = `${frame}${positionOf(project.file("src/workflows.ts"), thrownAt)})`;
    const run = await runNode(project, ["src/run.ts", workflow]);
    const result = resultOf(run);
    expect(result).toMatchObject({ ok: false, status: "failed" });
    expect(throwingFrame(result.cause.stack)?.trim()).toBe(expected);

    const runId = /^RUN (\S+)$/m.exec(run.stdout)![1]!;
    const recorded = JSON.parse(await inspect(runId, true));
    expect(throwingFrame(recorded.run.error.stack)?.trim()).toBe(expected);
    expect(await inspect(runId, false)).toContain(expected);
  });
});
