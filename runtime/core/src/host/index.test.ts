import { describe, expect, it } from "vitest";
import * as core from "./index.js";

describe("@wfkit/core", () => {
  it("installs the host runtime and closure reader when it loads", () => {
    const g = globalThis as unknown as Record<symbol, unknown>;
    expect(g[core.RUNTIME_KEY]).toBe(core.hostRuntime);
    expect(typeof g[core.CLOSURE_KEY]).toBe("function");
    expect(() => core.sleep("1s")).toThrow(/durable workflow operation/);
    expect(() => core.getStepMetadata()).toThrow(/only be called while a step runs/);
  });

  it("exports the public API the facade builds on", () => {
    for (const name of [
      "start",
      "getRun",
      "resumePendingRuns",
      "configureRuntime",
      "getEngine",
      "Run",
      "FatalError",
      "RetryableError",
      "WorkflowRunFailedError",
      "WorkflowRunCancelledError",
      "WorkflowRunNotFoundError",
      "parseDuration",
      "getWorkflowMetadata",
    ]) {
      expect(core, name).toHaveProperty(name);
    }
  });
});
