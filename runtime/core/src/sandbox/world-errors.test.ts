import vm from "node:vm";
import {
  AppendConflictError,
  HookTokenConflictError,
  LeaseLostError,
  RunFinishedError,
  RunNotFoundError,
  WorldError,
} from "@wfkit/world";
import { describe, expect, it } from "vitest";
import { RunAlreadyExistsError, WorkflowRunNotFoundError } from "./run-errors.js";
import { WorkflowError } from "./workflow-error.js";
import {
  EntityConflictError,
  RunExpiredError,
  ThrottleError,
  TooEarlyError,
  WorkflowWorldError,
  worldErrorStatus,
} from "./world-errors.js";

describe("the worlds' errors as WDK's workflow/errors classes", () => {
  it("conflicts (409) are EntityConflictErrors, by is() and instanceof, and keep their code", () => {
    for (const error of [
      new AppendConflictError("wrun_1", 3, 4),
      new RunFinishedError("wrun_1", "completed"),
      new LeaseLostError("wrun_1", "exec-1"),
      new HookTokenConflictError("tok", "wrun_2"),
      new WorldError("STREAM_CLOSED", "closed"),
    ]) {
      expect(error.status, error.code).toBe(409);
      expect(EntityConflictError.is(error), error.code).toBe(true);
      expect(error instanceof EntityConflictError, error.code).toBe(true);
      expect(error instanceof WorkflowWorldError, error.code).toBe(true);
      expect(WorkflowWorldError.is(error), error.code).toBe(false);
      expect(RunExpiredError.is(error) || ThrottleError.is(error) || TooEarlyError.is(error)).toBe(false);
      expect(error instanceof RunExpiredError).toBe(false);
      expect(error).toBeInstanceOf(WorldError);
      expect(typeof error.code).toBe("string");
    }
  });

  it("a world's unknown run is a WorkflowRunNotFoundError with runId; a deleted log a RunExpiredError", () => {
    const missing = new RunNotFoundError("wrun_gone");
    expect(WorkflowRunNotFoundError.is(missing)).toBe(true);
    expect(missing.runId).toBe("wrun_gone");
    expect(missing.code).toBe("RUN_NOT_FOUND");
    expect(missing instanceof WorkflowWorldError).toBe(true);
    expect(EntityConflictError.is(missing)).toBe(false);
    const deleted = new WorldError("RUN_LOG_DELETED", "the log was deleted");
    expect(RunExpiredError.is(deleted)).toBe(true);
    expect(deleted instanceof RunExpiredError).toBe(true);
  });

  it("other world errors are plain WorkflowWorldErrors; errors of no world are none", () => {
    const lost = new WorldError("CONNECTION_LOST", "the database went away");
    expect(worldErrorStatus(lost)).toBe(0);
    expect(WorkflowWorldError.is(lost)).toBe(true);
    expect(lost instanceof WorkflowWorldError).toBe(true);
    expect(EntityConflictError.is(lost)).toBe(false);
    expect(lost instanceof EntityConflictError).toBe(false);
    for (const other of [new Error("x"), { code: "APPEND_CONFLICT", status: 409 }, null, "409"]) {
      expect(other instanceof WorkflowWorldError).toBe(false);
      expect(EntityConflictError.is(other)).toBe(false);
      expect(WorkflowWorldError.is(other)).toBe(false);
    }
    // The classes' own instances keep ordinary instanceof.
    expect(new ThrottleError("slow", { retryAfter: 1 }) instanceof WorkflowWorldError).toBe(true);
    expect(new ThrottleError("slow") instanceof EntityConflictError).toBe(false);
    expect(new TooEarlyError("wait") instanceof WorkflowError).toBe(true);
  });

  it("a run that already exists is an EntityConflictError", () => {
    const exists = new RunAlreadyExistsError("wrun_1", "workflow//a.ts//f");
    expect(exists).toBeInstanceOf(EntityConflictError);
    expect(EntityConflictError.is(exists)).toBe(true);
    expect(RunAlreadyExistsError.is(exists)).toBe(true);
    expect(exists.status).toBe(409);
    expect(exists.name).toBe("RunAlreadyExistsError");
  });

  it("is() and instanceof hold for world errors made in another realm", () => {
    const foreign = vm.runInNewContext(`
      const e = new Error("conflict");
      Object.defineProperty(e, Symbol.for("wfkit.world-error"), { value: true });
      e.code = "APPEND_CONFLICT"; e.status = 409; e.name = "AppendConflictError";
      e`);
    expect(foreign instanceof Error).toBe(false);
    expect(EntityConflictError.is(foreign)).toBe(true);
    expect(foreign instanceof EntityConflictError).toBe(true);
    expect(foreign instanceof WorkflowWorldError).toBe(true);
    const named = vm.runInNewContext(`({ name: "TooEarlyError", message: "wait", retryAfter: 2 })`);
    expect(TooEarlyError.is(named)).toBe(true);
  });
});
