import { createMemoryWorld } from "@wfkit/world";
import { afterEach, describe, expect, it, vi } from "vitest";
import { TestCode } from "../engine/__tests__/harness.js";
import { log } from "../observability/logger.js";
import { configureRuntime, getEngine } from "./runtime-config.js";
import { getRun, start } from "./start.js";

const code = new TestCode({
  "workflow//./rc.ts//naps": `async function naps() {
    const t0 = Date.now();
    await rt().sleep("1h");
    await rt().sleep("2h");
    return Date.now() - t0;
  }`,
  "workflow//./rc.ts//two": `async function two() {
    await Promise.all([rt().sleep("1h"), rt().sleep("3h")]);
    return "woke";
  }`,
  "workflow//./rc.ts//quick": `async function quick() { return 1; }`,
});
const wf = (id: string) =>
  Object.assign(async () => undefined as unknown, { workflowId: `workflow//./rc.ts//${id}` });

afterEach(() => getEngine().close());

async function sleeping(runId: string, count: number): Promise<string[]> {
  const world = await getEngine().world();
  for (let i = 0; i < 500; i++) {
    const waits = (await world.listWaits(runId)).filter((w) => w.status === "waiting");
    if (waits.length >= count) return waits.map((w) => w.waitId);
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error("the run never slept");
}

describe("run.exists", () => {
  it("is true for a stored run and false for an unknown ID, without throwing", async () => {
    configureRuntime({ world: createMemoryWorld(), codeProvider: code });
    const run = await start(wf("quick"));
    expect(await run.exists).toBe(true);
    expect(await getRun("wrun_nope").exists).toBe(false);
    expect(await getRun("").exists).toBe(false);
  });
});

describe("run.wakeUp()", () => {
  it("completes every pending sleep and reports how many it stopped", async () => {
    configureRuntime({ world: createMemoryWorld(), codeProvider: code });
    const run = await start(wf("two"));
    await sleeping(run.runId, 2);
    await expect(run.wakeUp()).resolves.toEqual({ stoppedCount: 2 });
    await expect(run.returnValue).resolves.toBe("woke");
    await expect(run.wakeUp()).resolves.toEqual({ stoppedCount: 0 });
  });

  it("stops only the sleeps named by correlationIds", async () => {
    configureRuntime({ world: createMemoryWorld(), codeProvider: code });
    const run = await start(wf("naps"));
    const [first] = await sleeping(run.runId, 1);
    await expect(run.wakeUp({ correlationIds: ["wait_9999"] })).resolves.toEqual({ stoppedCount: 0 });
    await expect(run.wakeUp({ correlationIds: [first!] })).resolves.toEqual({ stoppedCount: 1 });
    // The second sleep starts; wake it too.
    const world = await getEngine().world();
    for (let i = 0; i < 500; i++) {
      const waits = await world.listWaits(run.runId);
      if (waits.some((w) => w.status === "waiting" && w.waitId !== first)) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    await expect(run.wakeUp()).resolves.toEqual({ stoppedCount: 1 });
    // Workflow time is the time of the events: far less than the 3 hours the sleeps asked for.
    expect(await run.returnValue).toBeLessThan(60_000);
  });
});

describe("start(wf, { deploymentId })", () => {
  it("accepts options without arguments, records the deployment ID and warns once", async () => {
    configureRuntime({ world: createMemoryWorld(), codeProvider: code });
    const warn = vi.spyOn(log, "warn").mockImplementation(() => {});
    try {
      const run = await start(wf("quick"), { deploymentId: "dpl_123" });
      await expect(run.returnValue).resolves.toBe(1);
      const world = await getEngine().world();
      expect((await world.getRun(run.runId))?.deploymentId).toBe("dpl_123");
      const latest = await start(wf("quick"), [], { deploymentId: "latest" });
      await expect(latest.returnValue).resolves.toBe(1);
      expect((await world.getRun(latest.runId))?.deploymentId).toBeUndefined();
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0]?.[0])).toContain("no immutable deployments");
    } finally {
      warn.mockRestore();
    }
  });
});
