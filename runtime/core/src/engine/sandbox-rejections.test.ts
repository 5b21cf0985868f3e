import { describe, expect, it } from "vitest";
import { harness, registerStep } from "./__tests__/harness.js";
import { isSandboxPromise } from "./sandbox-rejections.js";

registerStep(
  "step//./u//fail",
  async () => {
    throw new Error("early failure");
  },
  { maxRetries: 0 },
);
registerStep("step//./u//delay", (ms: number) => new Promise((r) => setTimeout(r, ms)));

async function unhandledDuring(body: string): Promise<{ value: unknown; seen: unknown[]; types: string[] }> {
  const h = harness({ "workflow//./u//later": body });
  const seen: unknown[] = [];
  const listener = (_reason: unknown, promise: unknown) => seen.push(promise);
  process.on("unhandledRejection", listener);
  try {
    const run = await h.start("workflow//./u//later");
    const value = await run.returnValue;
    const types = (await h.world.readEvents(run.runId)).map((e) => `${e.type}:${e.correlationId ?? ""}`);
    return { value, seen, types };
  } finally {
    process.off("unhandledRejection", listener);
    h.engine.close();
  }
}

describe("rejections that workflow code handles later", () => {
  it("are not reported as unhandled when a step is started early and awaited later", async () => {
    const { value, seen, types } = await unhandledDuring(`async function later() {
      const p = step("step//./u//fail")();
      await step("step//./u//delay")(30);
      try { await p; } catch (e) { return "caught " + e.message; }
    }`);
    expect(value).toBe("caught early failure");
    // The failure reached the sandbox while the workflow was still awaiting the other step.
    expect(types.indexOf("step_failed:step_0001")).toBeLessThan(types.indexOf("step_completed:step_0002"));
    expect(seen).toEqual([]);
  });

  it("are recognised as the sandbox's when they come from derived promises, so they cannot crash the process", async () => {
    const { value, seen } = await unhandledDuring(`async function later() {
      const p = step("step//./u//fail")().then((v) => v);
      await step("step//./u//delay")(30);
      try { await p; } catch (e) { return "caught " + e.message; }
    }`);
    expect(value).toBe("caught early failure");
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every(isSandboxPromise)).toBe(true);
  });

  it("does not mistake host promises for sandbox ones", () => {
    expect(isSandboxPromise(Promise.resolve())).toBe(false);
    expect(isSandboxPromise({})).toBe(false);
  });
});
