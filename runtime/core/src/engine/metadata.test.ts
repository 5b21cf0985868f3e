import { describe, expect, it } from "vitest";
import { closingEngines, harness, registerStep } from "./__tests__/harness.js";
import { hostRuntime } from "./host-runtime.js";

const track = closingEngines();

describe("getStepMetadata()", () => {
  it("names the step and keeps stepStartedAt at the first attempt's start across retries", async () => {
    const starts: number[] = [];
    registerStep("step//./m.ts//flaky", async () => {
      const m = hostRuntime.getStepMetadata();
      expect(m.stepName).toBe("step//./m.ts//flaky");
      starts.push(m.stepStartedAt.getTime());
      if (m.attempt < 3) throw new Error(`attempt ${m.attempt}`);
      return Date.now() - m.stepStartedAt.getTime();
    });
    const h = track(
      harness({ "workflow//./m.ts//flaky": `async function f() { return step("step//./m.ts//flaky")(); }` }),
    );
    const run = await h.start<number>("workflow//./m.ts//flaky");
    const elapsed = await run.returnValue;
    expect(starts).toHaveLength(3);
    expect(new Set(starts).size).toBe(1);
    // Two back-offs (5 ms base) passed since the first start: measured from stepStartedAt, as WDK's retry case does.
    expect(elapsed).toBeGreaterThanOrEqual(10);
  });

  it("can be returned from a step: the AbortSignal is not enumerable, the rest serializes", async () => {
    registerStep("step//./m.ts//meta", async () => {
      const m = hostRuntime.getStepMetadata();
      expect(m.signal).toBeInstanceOf(AbortSignal);
      return m;
    });
    const h = track(
      harness({ "workflow//./m.ts//meta": `async function f() { return step("step//./m.ts//meta")(); }` }),
    );
    const run = await h.start<Record<string, unknown>>("workflow//./m.ts//meta");
    const value = await run.returnValue;
    expect(Object.keys(value).sort()).toEqual(["attempt", "stepId", "stepName", "stepStartedAt"]);
    expect(value).toMatchObject({ attempt: 1, stepName: "step//./m.ts//meta" });
    expect(value.stepStartedAt).toBeInstanceOf(Date);
  });
});

describe("getWorkflowMetadata()", () => {
  it("gives workflowName in workflow code and in steps", async () => {
    registerStep("step//./m.ts//wfname", async () => hostRuntime.getWorkflowMetadata().workflowName);
    const h = track(
      harness({
        "workflow//./m.ts//named": `async function f() {
          return [rt().getWorkflowMetadata().workflowName, await step("step//./m.ts//wfname")()];
        }`,
      }),
    );
    const run = await h.start("workflow//./m.ts//named");
    await expect(run.returnValue).resolves.toEqual(["workflow//./m.ts//named", "workflow//./m.ts//named"]);
  });
});
