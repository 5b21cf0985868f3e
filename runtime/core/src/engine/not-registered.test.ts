import { describe, expect, it } from "vitest";
import { WorkflowNotRegisteredError } from "../sandbox/workflow-error.js";
import { closingEngines, harness } from "./__tests__/harness.js";

const track = closingEngines();

describe("starting a workflow ID the code does not define", () => {
  it("rejects with WorkflowNotRegisteredError and creates no run", async () => {
    const h = track(harness({ "workflow//./nr.ts//known": `async function known() { return 1; }` }));
    // The bundle is there but does not define the ID (a renamed function).
    h.code.getWorkflowBundle = async () => ({
      code: "(() => { /* defines workflow//./nr.ts//known only */ })();",
      filename: "b.js",
    });
    const error = await h.start("workflow//./nr.ts//renamed").catch((e) => e);
    expect(WorkflowNotRegisteredError.is(error)).toBe(true);
    expect(error.workflowName).toBe("workflow//./nr.ts//renamed");
    expect((await h.world.listRuns()).items).toHaveLength(0);
  });

  it("rejects when the code for the ID cannot be loaded at all", async () => {
    const h = track(harness({ "workflow//./nr.ts//known": `async function known() { return 1; }` }));
    const error = await h.start("workflow//./missing.ts//gone").catch((e) => e);
    expect(error).toBeInstanceOf(WorkflowNotRegisteredError);
    expect(error.message).toContain("Loading its code failed");
  });

  it("a failed run's cause carries code USER_ERROR for an error of workflow code", async () => {
    const h = track(
      harness({ "workflow//./nr.ts//boom": `async function boom() { throw new Error("boom"); }` }),
    );
    const run = await h.start("workflow//./nr.ts//boom");
    const error = await run.returnValue.catch((e) => e);
    expect(error.cause).toMatchObject({ message: "boom", code: "USER_ERROR" });
  });
});

describe("start() of a function that is not a workflow", () => {
  it("rejects with WDK's documented message", async () => {
    const { start } = await import("../api/start.js");
    async function plain() {}
    await expect(start(plain)).rejects.toThrow(
      /^'start' received an invalid workflow function\. Ensure the Workflow SDK is configured correctly and the function includes a 'use workflow' directive\./,
    );
  });
});

describe("checkWorkflowIds: false", () => {
  it("lets a process start a workflow only another process defines; the run waits for that process", async () => {
    const h = track(
      harness(
        { "workflow//./nr.ts//known": `async function known() { return 1; }` },
        { checkWorkflowIds: false },
      ),
    );
    const run = await h.start("workflow//./other.ts//elsewhere");
    expect(await run.exists).toBe(true);
    expect(await run.status).toBe("pending");
  });
});
