/**
 * Behaviour only a world shared between processes has: several instances (each with its own connections, as
 * separate processes) under one prefix, and instances under different prefixes on one server.
 */
import type { RunNotification, StepTaskNotification } from "@wfkit/world";
import { describe, expect, it } from "vitest";
import { sharedInstances, sleep, stepTask, until } from "./__tests__/instances.js";
import { createRedisWorld } from "./redis-world.js";
import { getTestRedis } from "./testing/server.js";

describe("instances sharing one prefix", () => {
  const { open } = sharedInstances();

  it("hear each other's appends, ends, stream writes and step tasks, and their own only once", async () => {
    const a = await open();
    const b = await open();
    const runs: RunNotification[] = [];
    const ownRuns: RunNotification[] = [];
    const tasks: StepTaskNotification[] = [];
    let streamWrites = 0;
    a.subscribe((n) => runs.push(n));
    b.subscribe((n) => ownRuns.push(n));
    a.subscribeStepTasks!((n) => tasks.push(n));
    const { run } = await b.createRun({ workflowName: "wf", input: "[]" });
    a.subscribeStream!(run.runId, "s", () => streamWrites++);
    await b.append(run.runId, 1, [{ type: "run_started" }]);
    await b.writeStream!(run.runId, "s", ["x"]);
    const task = stepTask(run.runId, "step_0001");
    await b.offerStepTasks!([task]);
    const [claimed] = await b.claimStepTasks!("B", 60_000, 1);
    await b.completeStepTask!(claimed!, { type: "step_completed", data: { output: "42" } });
    await b.append(run.runId, 2, [{ type: "run_completed", data: { output: "1" } }]);

    await until(() => runs.some((n) => n.kind === "finished"), "the end of the run");
    await until(
      () => streamWrites > 0 && tasks.some((n) => n.kind === "completed"),
      "the stream and task messages",
    );
    expect(runs.map((n) => [n.kind, n.lastSeq])).toEqual([
      ["created", 1],
      ["appended", 2],
      ["finished", 3],
    ]);
    expect(tasks).toEqual([
      { kind: "offered" },
      {
        kind: "completed",
        runId: run.runId,
        correlationId: "step_0001",
        attempt: 1,
        outcome: { type: "step_completed", data: { output: "42" } },
      },
    ]);
    await sleep(50);
    expect(ownRuns.map((n) => n.kind)).toEqual(["created", "appended", "finished"]);
  });

  it("an instance whose cached run fell behind catches up from the events it missed", async () => {
    const a = await open();
    const b = await open();
    const { run } = await a.createRun({ workflowName: "wf", input: "[]" });
    await a.append(run.runId, 1, [{ type: "hook_created", correlationId: "h1", data: { token: "tok-a" } }]);
    await b.append(run.runId, 2, [
      { type: "hook_disposed", correlationId: "h1" },
      { type: "step_created", correlationId: "s1", data: { stepName: "x", input: "[]" } },
    ]);
    // a's cache is at seq 2; the token its cached hook held was freed by b, so a may take it again.
    await a.append(run.runId, 4, [{ type: "hook_created", correlationId: "h2", data: { token: "tok-a" } }]);
    expect(await b.getHookByToken("tok-a")).toMatchObject({ hookId: "h2" });
    expect((await b.listSteps(run.runId)).map((s) => s.stepId)).toEqual(["s1"]);
    expect((await a.listHooks(run.runId)).map((h) => [h.hookId, h.status])).toEqual([
      ["h1", "disposed"],
      ["h2", "active"],
    ]);
  });

  it("a run this instance saw fail and another instance retried reads as running here", async () => {
    const a = await open();
    const b = await open();
    const { run } = await a.createRun({ workflowName: "wf", input: "[]" });
    const failed = await a.append(run.runId, 1, [{ type: "run_failed", data: { error: "x" } }]);
    expect((await a.getRun(run.runId))?.status).toBe("failed");
    await b.append(run.runId, failed.run.lastSeq, [
      { type: "run_retried", data: { rescinds: [failed.run.lastSeq], steps: [], hooks: [] } },
    ]);
    expect((await a.getRun(run.runId))?.status).toBe("running");
    // And a can append to it again (its view of the run caught up).
    await a.append(run.runId, 3, [{ type: "run_started" }]);
  });

  it("concurrent claimers on different instances never get the same task", async () => {
    const worlds = await Promise.all([open(), open(), open()]);
    const { run } = await worlds[0]!.createRun({ workflowName: "wf", input: "[]" });
    const cids = Array.from({ length: 30 }, (_, i) => `step_${String(i + 1).padStart(4, "0")}`);
    await worlds[0]!.offerStepTasks!(cids.map((cid) => stepTask(run.runId, cid)));
    const claims = await Promise.all(
      worlds.flatMap((w, i) => [0, 1, 2].map((j) => w.claimStepTasks!(`W${i}-${j}`, 60_000, 4))),
    );
    const got = claims.flat().map((t) => t.correlationId);
    expect(new Set(got).size).toBe(got.length);
    expect(got).toHaveLength(30);
    expect(new Set(claims.flat().map((t) => t.claim.token)).size).toBe(30);
  });
});

describe("instances under different prefixes on one server", () => {
  it("see nothing of each other", async () => {
    const [one, two] = await Promise.all([getTestRedis(), getTestRedis()]);
    const a = await createRedisWorld({ url: one.url, prefix: one.prefix, warn: () => {} });
    const b = await createRedisWorld({ url: two.url, prefix: two.prefix, warn: () => {} });
    try {
      const heard: RunNotification[] = [];
      b.subscribe((n) => heard.push(n));
      const { run } = await a.createRun({ workflowName: "wf", input: "[]" });
      await a.append(run.runId, 1, [
        { type: "hook_created", correlationId: "h", data: { token: "same-token" } },
        { type: "wait_created", correlationId: "w", data: { resumeAt: 1 } },
      ]);
      const other = await b.createRun({ workflowName: "wf", input: "[]" });
      await b.append(other.run.runId, 1, [
        { type: "hook_created", correlationId: "h", data: { token: "same-token" } },
      ]);
      expect((await b.listRuns()).items.map((r) => r.runId)).toEqual([other.run.runId]);
      expect(await b.getRun(run.runId)).toBeUndefined();
      expect(await b.listDue(Date.now())).toEqual([]);
      await sleep(50);
      expect(heard.every((n) => n.runId === other.run.runId)).toBe(true);
    } finally {
      await a.close();
      await b.close();
      await one.cleanup();
      await two.cleanup();
    }
  });
});
