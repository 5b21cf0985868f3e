/**
 * WDK's documented API, as its documentation writes it (`using` hooks, `getConflict()`, `run.wakeUp()`, step
 * metadata, negative `startIndex`, stream failures, the sandbox globals, `workflow/errors`), run by real Node
 * processes through `node --import workflow/register`, on the local world and on the Postgres world.
 */
import { getTestDatabase, type TestDatabase } from "@wfkit/world-postgres/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyProject, type Project, resultOf, runNode } from "./support/process.js";

describe.each(["local", "postgres"] as const)("WDK API on the %s world", (worldName) => {
  let project: Project;
  let db: TestDatabase | undefined;
  let env: Record<string, string> = {};
  beforeAll(async () => {
    project = copyProject("wdk-api");
    if (worldName === "postgres") {
      db = await getTestDatabase();
      env = {
        WORKFLOW_TARGET_WORLD: "postgres",
        WORKFLOW_POSTGRES_URL: db.url,
        WORKFLOW_POSTGRES_SCHEMA: db.schema,
      };
    }
  });
  afterAll(async () => {
    project.cleanup();
    await db?.cleanup();
  });

  const run = async (scenario: string, arg?: unknown) =>
    resultOf(
      await runNode(project, ["src/run.ts", scenario, ...(arg === undefined ? [] : [JSON.stringify(arg)])], {
        env,
      }),
    );

  it("using hook = createHook(): resumed through the hook object, disposed when the workflow returns", async () => {
    expect(await run("approval", "approval:1")).toEqual({
      value: "approved: ship it",
      afterwards: "HookNotFoundError",
    });
  });

  it("hook.getConflict() dedupes a second run to the one holding the token", async () => {
    const result = await run("conflict", "A-1");
    expect(result.deduped).toEqual({ dedupedTo: result.first });
    expect(result.firstValue).toEqual({ charged: "charged A-1", shipped: true });
  });

  it("a block-scoped `using` hook frees its token at the end of the block", async () => {
    expect(await run("scoped", "c1")).toEqual({ received: ["one", "two"], conflict: null });
  });

  it("using webhook = createWebhook({ respondWith: 'manual' }) answered from a step", async () => {
    expect(await run("webhook")).toEqual({
      status: 200,
      body: { received: true, message: "got done" },
      value: { type: "done", urlEndsWithToken: true },
    });
  });

  it("getStepMetadata() returned from a step; stepName and workflowName are the IDs", async () => {
    const value = await run("metadata");
    expect(value).toMatchObject({ stepIdStartsWithRun: true, stepStartedAtIsDate: true, attempt: 1 });
    // The file part of IDs gains its extension with the WDK ID scheme (issue 13, item 1).
    expect(value.stepName).toMatch(/^step\/\/.*workflows(\.ts)?\/\/describeStep$/);
    expect(value.workflowName).toMatch(/^workflow\/\/.*workflows(\.ts)?\/\/metadata$/);
  });

  it("stepStartedAt is the first attempt's start: the back-off is measurable from it", async () => {
    const value = await run("retryTiming");
    expect(value.attempt).toBe(3);
    expect(value.sinceFirstStartMs).toBeGreaterThanOrEqual(550);
  });

  it("run.exists and run.wakeUp({ correlationIds }) skip durable sleeps", async () => {
    const value = await run("wakeUp");
    expect(value).toMatchObject({
      exists: true,
      missing: false,
      none: { stoppedCount: 0 },
      first: { stoppedCount: 1 },
      second: { stoppedCount: 1 },
    });
    expect(value.value.sleptMs).toBeLessThan(60_000);
  });

  it("start(wf, { deploymentId: 'latest' }) runs on the current code", async () => {
    expect(await run("deployment")).toEqual({ ok: true });
  });

  it("getReadable({ startIndex: -2 }), getTailIndex(), and new Response(run.readable) from a route", async () => {
    expect(await run("streams")).toEqual({
      tail: 4,
      lastTwo: ["line 3\n", "line 4\n"],
      body: "line 0\nline 1\nline 2\nline 3\nline 4\n",
    });
  });

  it("an error of a step-returned stream reaches the consuming step, which fails the run", async () => {
    expect(await run("streamError")).toEqual({
      failed: true,
      cause: { name: "FatalError", message: "Stream failed" },
    });
  });

  it("crypto.subtle, Uint8Array hex/base64 and globalThis.fetch = fetch in workflow code", async () => {
    expect(await run("globals")).toEqual({
      hex: "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
      base64: "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=",
      roundTrip: true,
      fetched: { pong: true },
    });
  });

  it("workflow/errors: an unknown workflow ID, and cause.code USER_ERROR", async () => {
    const value = await run("errors");
    expect(value).toMatchObject({
      notRegistered: true,
      isWorkflowError: true,
      workflowName: "workflow//./src/workflows.ts//doesNotExist",
      causeCode: "USER_ERROR",
    });
    expect(value.message).toMatch(/is not registered in the current deployment/);
  });

  it("workflow/errors: the documented classes are what resumeHook, getRun, returnValue and the world throw; serialization messages", async () => {
    expect(await run("errorClasses")).toEqual({
      hookNotFound: true,
      webhookNotFound: true,
      runNotFound: true,
      returnValueNotFound: true,
      failed: true,
      failedCause: "plain failure",
      cancelled: true,
      entityConflict: true,
      worldErrorInstance: true,
      endedCode: "RUN_FINISHED",
      worldRunNotFound: true,
      badArgument: "caught",
    });
  });
});
