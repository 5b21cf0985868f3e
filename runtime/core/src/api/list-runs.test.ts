/** The operator API in code: `listRuns()`, `run.steps()`, `run.events()`, `run.info()`. */
import { afterEach, describe, expect, it } from "vitest";
import { harness, registerStep } from "../engine/__tests__/harness.js";
import type { Engine } from "../engine/engine.js";
import { listRuns } from "./list-runs.js";

const engines: Engine[] = [];
afterEach(() => {
  for (const e of engines.splice(0)) e.close();
});

registerStep("step//./l//double", async (n: number) => n * 2);
registerStep(
  "step//./l//boom",
  async () => {
    throw Object.assign(new Error("boom"), { code: "BOOM" });
  },
  { maxRetries: 0 },
);

const WORKFLOWS = {
  "workflow//./l//twice": `async function twice(n) {
    const [a, b] = await Promise.all([step("step//./l//double")(n), step("step//./l//double")(n + 1)]);
    return { sum: a + b, at: new Date(0) };
  }`,
  "workflow//./l//fails": `async function fails() { await step("step//./l//boom")(); }`,
};

describe("listRuns", () => {
  it("filters by status and workflow, pages with limit and cursor, and decodes input, output and error", async () => {
    const h = harness(WORKFLOWS);
    engines.push(h.engine);
    const ok1 = await h.start("workflow//./l//twice", [1]);
    const ok2 = await h.start("workflow//./l//twice", [2]);
    const bad = await h.start("workflow//./l//fails");
    await Promise.all([ok1.returnValue, ok2.returnValue, bad.returnValue.catch(() => {})]);

    const failed = await listRuns({ world: h.world, status: "failed" });
    expect(failed.data.map((r) => r.runId)).toEqual([bad.runId]);
    const error = failed.data[0]!.error as Error & { code: string };
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toBe("boom");
    expect(error.code).toBe("BOOM");

    const page1 = await listRuns({ world: h.world, workflowName: "workflow//./l//twice", limit: 1 });
    expect(page1.hasMore).toBe(true);
    const page2 = await listRuns({
      world: h.world,
      workflowName: "workflow//./l//twice",
      limit: 1,
      cursor: page1.cursor,
    });
    expect(page2.hasMore).toBe(false);
    const both = [...page1.data, ...page2.data];
    expect(both.map((r) => r.runId).sort()).toEqual([ok1.runId, ok2.runId].sort());
    const first = both.find((r) => r.runId === ok1.runId)!;
    expect(first).toMatchObject({ status: "completed", input: [1], output: { sum: 6, at: new Date(0) } });
    expect(first.createdAt).toBeInstanceOf(Date);
    expect(first.completedAt).toBeInstanceOf(Date);
  });

  it("refuses a bad status or limit with a message naming it", async () => {
    const h = harness(WORKFLOWS);
    engines.push(h.engine);
    await expect(listRuns({ world: h.world, status: "done" as never })).rejects.toThrow(
      /"done" is not a run status/,
    );
    await expect(listRuns({ world: h.world, limit: 0 })).rejects.toThrow(
      /limit must be an integer from 1 to 1000/,
    );
  });
});

describe("run.steps(), run.events(), run.info()", () => {
  it("give the run's steps in call order and its log, with values decoded", async () => {
    const h = harness(WORKFLOWS);
    engines.push(h.engine);
    const run = await h.start("workflow//./l//twice", [3]);
    await run.returnValue;
    const steps = await run.steps();
    expect(steps.map((s) => [s.stepId, s.status, s.attempt, s.input, s.output])).toEqual([
      ["step_0001", "completed", 1, { args: [3] }, 6],
      ["step_0002", "completed", 1, { args: [4] }, 8],
    ]);
    expect(steps[0]!.startedAt).toBeInstanceOf(Date);
    const events = await run.events();
    expect(events[0]).toMatchObject({
      seq: 1,
      type: "run_created",
      data: { workflowName: "workflow//./l//twice" },
    });
    expect(events.at(-1)).toMatchObject({
      type: "run_completed",
      data: { output: { sum: 14, at: new Date(0) } },
    });
    expect((await run.events({ afterSeq: events.length - 1 })).map((e) => e.type)).toEqual(["run_completed"]);
    expect(await run.info()).toMatchObject({ runId: run.runId, status: "completed", input: [3] });
  });
});
