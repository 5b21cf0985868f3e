import { describe, expect, it } from "vitest";
import { runWorldConformance } from "./conformance/index.js";
import { createMemoryWorld } from "./memory.js";
import { stepTasksOf } from "./step-tasks.js";

runWorldConformance("memory", async () => ({ world: createMemoryWorld({ stepTasks: true }) }));

describe("memory world specifics", () => {
  it("uses the injected clock for timestamps and lease expiry", async () => {
    let now = 1_000;
    const world = createMemoryWorld({ now: () => now });
    const { run } = await world.createRun({ workflowName: "wf", input: "[]" });
    expect(run.createdAt).toBe(1_000);
    const lease = (await world.acquireLease(run.runId, "A", 100))!;
    expect(lease.expiresAt).toBe(1_100);
    now = 1_100;
    expect(await world.acquireLease(run.runId, "B", 100)).toMatchObject({
      owner: "B",
      token: lease.token + 1,
    });
  });

  it("hands out stored events that callers cannot change", async () => {
    const world = createMemoryWorld();
    const { run } = await world.createRun({ workflowName: "wf", input: "[]" });
    const data = { output: "x" };
    await world.append(run.runId, 1, [{ type: "run_completed", data }]);
    data.output = "changed by caller";
    const [, ev] = await world.readEvents(run.runId);
    expect(ev!.data).toEqual({ output: "x" });
    expect(() => {
      (ev as { seq: number }).seq = 99;
    }).toThrow(TypeError);
  });

  it("has the step task methods only when asked (stepTasks: true)", () => {
    expect(stepTasksOf(createMemoryWorld())).toBeUndefined();
    expect(createMemoryWorld().offerStepTasks).toBeUndefined();
    expect(stepTasksOf(createMemoryWorld({ stepTasks: true }))).toBeDefined();
  });

  it("refuses use after close with a clear message", async () => {
    const world = createMemoryWorld();
    await world.close();
    await expect(world.getRun("x")).rejects.toThrow(/closed/);
  });
});
