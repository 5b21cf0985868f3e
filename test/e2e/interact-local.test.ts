/**
 * End to end on the local world through the real compiler (`node --import workflow/register`): hooks (typed,
 * resumed from another process), webhooks, streams and cancellation.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyProject, type Project, resultOf, runNode, spawnNode } from "./support/process.js";

describe("hooks, webhooks, streams and cancellation on the local world", () => {
  let project: Project;
  beforeAll(() => {
    project = copyProject("interact");
  });
  afterAll(() => project.cleanup());

  it("resumes a typed hook from another process; an invalid payload is refused and not delivered", async () => {
    const waiting = spawnNode(project, ["src/main.ts", "approval", "o-1"]);
    await waiting.waitForLine(/^RUN /);
    const resumer = resultOf(
      await runNode(project, [
        "src/main.ts",
        "resume",
        "approval:o-1",
        JSON.stringify({ approved: true, by: "ann" }),
      ]),
    );
    expect(resumer.info.metadata).toEqual({ orderId: "o-1" });
    expect(resumer.invalid.name).toBe("HookPayloadInvalidError");
    expect(resumer.invalid.message).toContain("approved: must be a boolean");
    const second = resultOf(
      await runNode(project, ["src/main.ts", "resume", "approval:o-1", JSON.stringify({ approved: false })]),
    );
    expect(second.info.runId).toBe(resumer.info.runId);
    const result = resultOf(await waiting.done);
    expect(result.value).toEqual([
      { approved: true, by: "ANN" },
      { approved: false, by: "UNKNOWN" },
    ]);
  });

  it("streams binary and object chunks live, and resumes from an index", async () => {
    const result = resultOf(await runNode(project, ["src/main.ts", "streams"]));
    const expected = [0, 1, 2, 3, 4, 5].map((i) => (i % 2 === 0 ? { step: i } : { bytes: [i, 255] }));
    expect(result.value).toBe(6);
    expect(result.chunks).toEqual(expected);
    expect(result.tail).toEqual(expected.slice(4));
  });

  it("lets another process tail a run's stream live, and resume from an index", async () => {
    const writer = spawnNode(project, ["src/main.ts", "stream-run", "8"]);
    const runId = (await writer.waitForLine(/^RUN /)).slice(4).trim();
    const reader = resultOf(await runNode(project, ["src/main.ts", "read", runId]));
    const expected = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => (i % 2 === 0 ? { step: i } : { bytes: [i, 255] }));
    expect(reader.startedWhile).toBe("running");
    expect(reader.chunks).toEqual(expected);
    const resumed = resultOf(await runNode(project, ["src/main.ts", "read", runId, "5"]));
    expect(resumed.chunks).toEqual(expected.slice(5));
    expect(resultOf(await writer.done).value).toBe(8);
  });

  it("cancels a run: the running step's AbortSignal fires with the reason and no later step starts", async () => {
    const result = resultOf(await runNode(project, ["src/main.ts", "cancel"]));
    expect(result.outcome).toEqual({ name: "WorkflowRunCancelledError", reason: "customer left" });
    expect(result.status).toBe("cancelled");
    expect(result.ledger).toContain("abortable:aborted:WorkflowRunCancelledError:customer left");
    expect(result.ledger).not.toContain("after-abort:ran");
  });

  it("answers a manual webhook with the step's response; 404 for unknown tokens and plain hooks", async () => {
    const result = resultOf(await runNode(project, ["src/main.ts", "webhook"]));
    expect(result).toMatchObject({
      status: 200,
      header: "step",
      body: "POST ?q=1 ping",
      unknown: [404, ""],
      unknownDirect: true,
      plainViaUrl: 404,
      plain: "api",
    });
    expect(result.url).toMatch(/\/\.well-known\/workflow\/v1\/webhook\/echo-1$/);
  });
});
