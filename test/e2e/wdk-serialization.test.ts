/**
 * Issue 13 item 5 in real processes (`node --import workflow/register`): a class with WDK's
 * `WORKFLOW_SERIALIZE`/`WORKFLOW_DESERIALIZE` static methods crosses between the app, workflow code (in the
 * sandbox) and step code with no registration call; a `"use step"` instance method runs with `this`; step
 * functions are values (WDK's `stepFunctionPassingWorkflow`).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyProject, type Project, resultOf, runNode } from "./support/process.js";

describe("serializable classes with no registration call", () => {
  let project: Project;
  beforeAll(() => {
    project = copyProject("wdk-serialization");
  });
  afterAll(() => project?.cleanup());

  it("are revived as instances in the step, the workflow and the app; instance-method steps get this", async () => {
    const result = resultOf(await runNode(project, ["src/run.ts"]));
    expect(result).toEqual({
      doubled: { x: 20, y: 40 },
      stepSawPoint: true,
      workflowSawPoint: true,
      appSawPoint: true,
      total: 25,
      isCounter: true,
    });
  });

  it("passes step functions (also a nested one with its closure) to a step, hands one back to the workflow, and gives .call()/.apply() their this", async () => {
    const result = resultOf(await runNode(project, ["src/run-step-functions.ts"]));
    expect(result).toEqual({ passing: 40, returned: 21, self: 300, closure: "Wrapped: Result: 21" });
  });
});
