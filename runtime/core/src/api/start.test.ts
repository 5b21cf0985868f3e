import { createMemoryWorld } from "@wfkit/world";
import { describe, expect, it } from "vitest";
import { registerStep, TestCode } from "../engine/__tests__/harness.js";
import { WorkflowRunNotFoundError } from "../sandbox/run-errors.js";
import { configureRuntime, getEngine } from "./runtime-config.js";
import { getRun, start } from "./start.js";

describe("start()", () => {
  it("runs a workflow function on the configured runtime and reports its result and times", async () => {
    registerStep("step//./a//double", async (x: number) => x * 2);
    const code = new TestCode({
      "workflow//./a//double": `async function double(x) { return step("step//./a//double")(x); }`,
    });
    configureRuntime({ world: createMemoryWorld(), codeProvider: code });
    const wf = Object.assign(async (_x: number): Promise<number> => 0, {
      workflowId: "workflow//./a//double",
    });
    const run = await start(wf, [21]);
    await expect(run.returnValue).resolves.toBe(42);
    await expect(getRun<number>(run.runId).returnValue).resolves.toBe(42);
    expect(await run.status).toBe("completed");
    expect(await run.workflowName).toBe("workflow//./a//double");
    expect(await run.startedAt).toBeInstanceOf(Date);
    getEngine().close();
  });

  it("refuses a function that is not a workflow and says how to fix it", async () => {
    async function plain() {}
    await expect(start(plain)).rejects.toThrow(
      /"plain" is not one \(it has no workflowId\)\. Put the directive "use workflow"/,
    );
  });

  it("refuses arguments that are not an array", async () => {
    const wf = Object.assign(async (_x: number) => 0, { workflowId: "workflow//./a//wf" });
    await expect(start(wf, 5 as never, { world: createMemoryWorld() })).rejects.toThrow(
      /args must be an array/,
    );
  });

  it("reports an unknown run as WorkflowRunNotFoundError", async () => {
    configureRuntime({ world: createMemoryWorld() });
    const run = getRun("wrun_missing");
    await expect(run.status).rejects.toBeInstanceOf(WorkflowRunNotFoundError);
    await expect(run.returnValue).rejects.toThrow(/No workflow run with ID "wrun_missing"/);
    getEngine().close();
  });

  it("fails a run whose workflow code is unavailable instead of leaving it pending", async () => {
    const errors: unknown[] = [];
    configureRuntime({ world: createMemoryWorld(), codeProvider: undefined, onError: (e) => errors.push(e) });
    const wf = Object.assign(async () => 1, { workflowId: "workflow//./a//nocode" });
    const engine = getEngine();
    const run = await start(wf);
    const error = await run.returnValue.catch((e) => e);
    expect(error.cause.code).toBe("NO_CODE_PROVIDER");
    expect(errors).toHaveLength(1);
    engine.close();
  });
});
