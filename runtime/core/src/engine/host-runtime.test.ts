import { describe, expect, it } from "vitest";
import { hostRuntime } from "./host-runtime.js";
import { stepContext } from "./step-context.js";

describe("host runtime", () => {
  it("explains that sleep belongs in workflow code", () => {
    expect(() => hostRuntime.sleep("1s")).toThrow(/call it from a "use workflow" function/);
  });

  it("gives step metadata only inside a step", () => {
    expect(() => hostRuntime.getStepMetadata()).toThrow(/only be called while a step runs/);
    const startedAt = new Date(1000);
    const meta = stepContext.run(
      {
        stepId: "wrun_1/step_0001",
        stepStartedAt: startedAt,
        attempt: 2,
        closure: undefined,
        workflowRunId: "wrun_1",
        workflowStartedAt: new Date(500),
      },
      () => [hostRuntime.getStepMetadata(), hostRuntime.getWorkflowMetadata()],
    );
    expect(meta[0]).toMatchObject({ stepId: "wrun_1/step_0001", stepStartedAt: startedAt, attempt: 2 });
    expect((meta[0] as { signal: AbortSignal }).signal.aborted).toBe(false);
    expect(meta[1]).toMatchObject({ workflowRunId: "wrun_1", workflowStartedAt: new Date(500) });
  });
});
