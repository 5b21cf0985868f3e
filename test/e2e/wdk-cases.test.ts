/**
 * A suite shaped like WDK's own end-to-end suite: the same case names and behaviour (addTen, Promise.all / race /
 * any, streams, hooks, webhooks, sleeps, the null byte, metadata, fetch, retries, errors, step functions passed as
 * values, a workflow started from a step, hook cleanup), written by us, each run by a real Node process through
 * `node --import workflow/register` on the local world and on the Postgres world.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyProject, type Project, resultOf, runNode } from "./support/process.js";
import { worldEnv } from "./support/world-setups.js";

describe.each(["local", "postgres"] as const)("WDK's e2e cases on the %s world", (worldName) => {
  let project: Project;
  let env: Record<string, string>;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    project = copyProject("wdk-cases");
    const world = await worldEnv(worldName, project);
    env = world.env;
    cleanup = world.cleanup;
  });
  afterAll(async () => {
    await cleanup();
    project.cleanup();
  });

  const run = async (name: string) => {
    const result = await runNode(project, ["src/run.ts", name], { env });
    return { value: resultOf(result), stdout: result.stdout };
  };

  it("addTenWorkflow: three sequential steps", async () => {
    expect((await run("addTen")).value).toBe(133);
  });

  it("promiseAllWorkflow: results in argument order, not completion order", async () => {
    expect((await run("promiseAll")).value).toBe("ABC");
  });

  it("promiseRaceWorkflow: the fastest step wins", async () => {
    expect((await run("promiseRace")).value).toBe("fast");
  });

  it("promiseAnyWorkflow: the first fulfilled step wins over an earlier rejection", async () => {
    expect((await run("promiseAny")).value).toBe("second");
  });

  it("promiseRaceStressTestWorkflow: five rounds of six raced steps, each won by the fastest", async () => {
    expect((await run("promiseRaceStress")).value).toEqual(["r0-2", "r1-2", "r2-2", "r3-2", "r4-2"]);
  });

  it("readableStreamWorkflow: a stream returned by a step is the run's return value", async () => {
    expect((await run("readableStream")).value).toEqual({ text: "0\n1\n2\n3\n4\n" });
  });

  it("hookWorkflow: payloads in order through `for await`, metadata on the hook, disposed after `using`", async () => {
    expect((await run("hook")).value).toEqual({
      value: [
        { message: "one", customData: "my-data" },
        { message: "two", customData: "x" },
        { message: "three", customData: "y" },
      ],
      metadata: { customData: "my-data" },
      disposedAfterwards: true,
    });
  });

  it("webhookWorkflow: default 202, a manual response from a step, a fixed response", async () => {
    const { value } = await run("webhook");
    expect(value.responses).toEqual([
      { status: 202 },
      { status: 201, body: { ok: true, from: "step" } },
      { status: 200, body: "fixed" },
    ]);
    expect(value.value.map((r: { body: unknown; method: string }) => [r.method, r.body])).toEqual([
      ["POST", { n: 1 }],
      ["POST", { n: 2 }],
      ["POST", { n: 3 }],
    ]);
    expect(value.value[0].url).toMatch(/^\/\.well-known\/workflow\/v1\/webhook\/.+/);
  });

  it("sleepingWorkflow: sleep('1s') and sleep(Date) take at least that long, by the workflow's clock", async () => {
    const { value } = await run("sleeping");
    expect(value.value.slept).toBeGreaterThanOrEqual(1000);
    expect(value.value.sleptUntilDate).toBeGreaterThanOrEqual(300);
    expect(value.elapsed).toBeGreaterThanOrEqual(1300);
  });

  it("nullByteWorkflow: a NUL character survives the event log", async () => {
    expect((await run("nullByte")).value).toBe("null byte \0");
  });

  it("workflowAndStepMetadataWorkflow: run ID, workflow and step names, attempt", async () => {
    const { value } = await run("metadata");
    expect(value.value).toMatchObject({
      workflowRunId: value.runId,
      workflowName: "workflow//src/workflows.ts//workflowAndStepMetadataWorkflow",
      startedAtIsDate: true,
      step: { stepName: "step//src/workflows.ts//stepMetadata", attempt: 1 },
    });
    expect(value.value.step.stepId).toMatch(new RegExp(`^${value.runId}/`));
  });

  it("outputStreamWorkflow: the default and a named stream, and a negative startIndex", async () => {
    expect((await run("outputStream")).value).toEqual({
      value: "done",
      main: ["Hello", "World"],
      side: ["side 1"],
      last: ["World"],
    });
  });

  it("outputStreamInsideStepWorkflow: getWritable() called inside a step, read while the run is live", async () => {
    expect((await run("outputStreamInsideStep")).value).toEqual({
      value: "done",
      chunks: [{ n: 1 }, { n: 2 }, { n: 3 }],
    });
  });

  it("fetchWorkflow: the workflow fetch step returns a Response to workflow code", async () => {
    expect((await run("fetch")).value).toEqual({
      status: 200,
      body: { id: 1, path: "/todo/1", title: "delectus aut autem" },
    });
  });

  it("retryAttemptCounterWorkflow: RetryableError is retried until the third attempt", async () => {
    expect((await run("retryAttemptCounter")).value).toBe(3);
  });

  it("retryableAndFatalErrorWorkflow: FatalError reaches the workflow after one attempt", async () => {
    const { value, stdout } = await run("retryableAndFatal");
    expect(value).toEqual({ retried: 3, fatal: "not worth retrying", isFatal: true });
    expect(stdout.match(/FATAL_ATTEMPT/g)).toHaveLength(1);
  });

  it("crossFileErrorWorkflow: a step's error from another file fails the run with its stack", async () => {
    const { value } = await run("crossFileError");
    expect(value).toMatchObject({
      failed: true,
      name: "Error",
      message: "thrown in helpers.ts",
      code: "USER_ERROR",
    });
    expect(value.stack).toMatch(/throwFromHelper \(.*src\/helpers\.ts:\d+:\d+\)/);
  });

  it("an error thrown by the workflow itself fails the run with USER_ERROR and its own class", async () => {
    const { value } = await run("errorUncaught");
    expect(value).toMatchObject({ failed: true, name: "TypeError", message: "the workflow itself failed" });
    expect(value.code).toBe("USER_ERROR");
    expect(value.stack).toMatch(/errorWorkflowUncaught \(.*src\/workflows\.ts:\d+:\d+\)/);
  });

  it("stepFunctionPassingWorkflow: a step passed as an argument to another step", async () => {
    expect((await run("stepFunctionPassing")).value).toEqual({ direct: 10, passed: 14 });
  });

  it("stepFunctionWithClosureWorkflow: a nested step carries the workflow variables it closes over", async () => {
    expect((await run("stepFunctionWithClosure")).value).toEqual({ direct: "n=6", passed: "n=12" });
  });

  it("a nested step written as a function declaration passes as a value too", async () => {
    expect((await run("nestedStepDeclaration")).value).toEqual({ direct: "hello #1!", passed: "hello #2!" });
  });

  it("spawnWorkflowFromStepWorkflow: start() inside a step launches a run of its own", async () => {
    expect((await run("spawnWorkflowFromStep")).value).toEqual({ childValue: 105 });
  });

  it("hookCleanupTestWorkflow: a token is free again once the run that held it ended", async () => {
    expect((await run("hookCleanup")).value).toEqual([1, 2]);
  });
});
