import { HookNotFoundError, WorkflowRunFailedError } from "@workflow/errors";
import { waitForHook, waitForSleep } from "@workflow/vitest";
import { describe, expect, it } from "vitest";
import { getRun, resumeHook, start } from "workflow/api";
import { explode, reviewArticle } from "./review";

describe("reviewArticle through @workflow/vitest", () => {
  it("wakes each sleep in turn by its correlation ID", async () => {
    const run = await start(reviewArticle, ["hello"]);
    const hook = await waitForHook(run, { token: "review:hello" });
    expect(hook).toMatchObject({ token: "review:hello", runId: run.runId });
    expect(typeof hook.hookId).toBe("string");
    await resumeHook(hook.token, { accepted: true, by: "ada" });
    const first = await waitForSleep(run);
    await getRun(run.runId).wakeUp({ correlationIds: [first] });
    const second = await waitForSleep(run, { timeout: 10_000, pollInterval: 20 });
    expect(second).not.toBe(first);
    await getRun(run.runId).wakeUp();
    await expect(run.returnValue).resolves.toEqual({
      slug: "hello",
      state: "published 500 words",
      by: "ada",
    });
  });

  it("returns without sleeping when the verdict is no", async () => {
    const run = await start(reviewArticle, ["nope"]);
    await waitForHook(run, { token: "review:nope" });
    await resumeHook("review:nope", { accepted: false, by: "bo" });
    await expect(run.returnValue).resolves.toEqual({ slug: "nope", state: "returned", by: "bo" });
  });

  it("gives @workflow/errors' classes", async () => {
    const missing = await resumeHook("review:ghost", { accepted: true, by: "x" }).catch((e) => e);
    expect(HookNotFoundError.is(missing)).toBe(true);
    expect(missing.token).toBe("review:ghost");
    const failed = await (await start(explode)).returnValue.catch((e) => e);
    expect(WorkflowRunFailedError.is(failed)).toBe(true);
    expect(failed.cause.message).toBe("review system offline");
  });

  it("times out waiting for a hook that never comes, saying so", async () => {
    const run = await start(reviewArticle, ["slow"]);
    await expect(waitForHook(run, { token: "review:other", timeout: 300 })).rejects.toThrow(/within 300 ms/);
  });
});
