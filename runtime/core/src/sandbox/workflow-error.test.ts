import { describe, expect, it } from "vitest";
import { HookConflictError, HookNotFoundError } from "./hook-errors.js";
import { WorkflowRunFailedError, WorkflowRunNotFoundError } from "./run-errors.js";
import {
  RunNotSupportedError,
  StepNotRegisteredError,
  WorkflowError,
  WorkflowNotRegisteredError,
  WorkflowRunNotCompletedError,
  WorkflowRuntimeError,
} from "./workflow-error.js";
import {
  EntityConflictError,
  RunExpiredError,
  ThrottleError,
  TooEarlyError,
  WorkflowWorldError,
} from "./world-errors.js";

describe("workflow/errors classes", () => {
  it("all extend WorkflowError, whose is() matches only itself", () => {
    const base = new WorkflowError("something went wrong", { cause: new Error("underlying cause") });
    expect((base.cause as Error).message).toBe("underlying cause");
    expect(WorkflowError.is(base)).toBe(true);
    for (const e of [
      new WorkflowRunFailedError("r", new Error("x")),
      new WorkflowRunNotFoundError("r"),
      new HookNotFoundError("t"),
      new HookConflictError("t", "r"),
      new WorkflowNotRegisteredError("workflow//a.ts//f"),
      new StepNotRegisteredError("step//a.ts//s"),
      new WorkflowRuntimeError("x"),
      new WorkflowRunNotCompletedError("r", "running"),
      new RunNotSupportedError(3, 2),
      new ThrottleError("slow down", { retryAfter: 5 }),
    ]) {
      expect(e).toBeInstanceOf(WorkflowError);
      expect(WorkflowError.is(e)).toBe(false);
    }
  });

  it("world errors: subclasses of WorkflowWorldError with their HTTP status; is() per class", () => {
    const conflict = new EntityConflictError("exists");
    expect(conflict).toBeInstanceOf(WorkflowWorldError);
    expect(conflict.status).toBe(409);
    expect(EntityConflictError.is(conflict)).toBe(true);
    expect(WorkflowWorldError.is(conflict)).toBe(false);
    expect(WorkflowWorldError.is(new WorkflowWorldError("x", { status: 500, url: "http://w" }))).toBe(true);
    expect(new RunExpiredError("gone").status).toBe(410);
    expect(new TooEarlyError("wait", { retryAfter: 2 })).toMatchObject({ status: 425, retryAfter: 2 });
    expect(ThrottleError.is(new ThrottleError("429", { retryAfter: 1 }))).toBe(true);
    // is() reads the name, so a copy from another realm or module matches too.
    expect(ThrottleError.is({ name: "ThrottleError", message: "x" })).toBe(true);
  });

  it("documented fields and messages", () => {
    const nr = new WorkflowNotRegisteredError("workflow//order.ts//processOrder");
    expect(nr.workflowName).toBe("workflow//order.ts//processOrder");
    expect(nr.message).toMatch(
      /^Workflow "workflow\/\/order.ts\/\/processOrder" is not registered in the current deployment\./,
    );
    expect(nr.message).toContain("workflow-not-registered");
    expect(nr.code).toBe("RUNTIME_ERROR");
    const sr = new StepNotRegisteredError("step//a.ts//s");
    expect(sr.stepName).toBe("step//a.ts//s");
    expect(sr.message).toMatch(/^Step "step\/\/a.ts\/\/s" is not registered in the current deployment\./);
    const conflict = new HookConflictError("order:1", "wrun_1");
    expect(conflict.conflictingRunId).toBe("wrun_1");
    expect(conflict.message).toMatch(/^Hook token "order:1" is already in use by another workflow/);
    expect(new WorkflowRunNotCompletedError("r", "running")).toMatchObject({ runId: "r", status: "running" });
    expect(new RunNotSupportedError(3, 2)).toMatchObject({ runSpecVersion: 3, worldSpecVersion: 2 });
  });

  it("WorkflowRunFailedError gives a cause without a code of its own the code USER_ERROR", () => {
    expect((new WorkflowRunFailedError("r", new Error("boom")).cause as { code: string }).code).toBe(
      "USER_ERROR",
    );
    const own = Object.assign(new Error("x"), { code: "REPLAY_DIVERGENCE" });
    expect((new WorkflowRunFailedError("r", own).cause as { code: string }).code).toBe("REPLAY_DIVERGENCE");
  });
});
