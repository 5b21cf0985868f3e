/**
 * The host process's `globalThis[Symbol.for("wfkit.runtime")]`: what the public `workflow` functions do
 * when called outside the sandbox, that is inside a step body or in plain application code.
 */
import { CLOSURE_KEY, RUNTIME_KEY } from "../sandbox/abi.js";
import { stepContext } from "./step-context.js";
import { workflowBaseUrl } from "./workflow-url.js";

export interface StepMetadata {
  stepId: string;
  stepStartedAt: Date;
  attempt: number;
}

export interface WorkflowMetadata {
  workflowRunId: string;
  workflowStartedAt: Date;
  url: string;
}

export interface RuntimeApi {
  sleep(duration: string | number | Date): Promise<void>;
  getStepMetadata(): StepMetadata;
  getWorkflowMetadata(): WorkflowMetadata;
}

export const hostRuntime: RuntimeApi = {
  sleep(): Promise<void> {
    throw new Error(
      'sleep() is a durable workflow operation: call it from a "use workflow" function, not from a step or ' +
        "plain code. Inside a step, wait with `await new Promise((r) => setTimeout(r, ms))`; to pause the run " +
        "durably, return from the step and call sleep() in the workflow.",
    );
  },
  getStepMetadata(): StepMetadata {
    const ctx = stepContext.getStore();
    if (!ctx) {
      throw new Error(
        'getStepMetadata() can only be called while a step runs (inside a "use step" function started by a workflow).',
      );
    }
    return { stepId: ctx.stepId, stepStartedAt: new Date(ctx.stepStartedAt), attempt: ctx.attempt };
  },
  getWorkflowMetadata(): WorkflowMetadata {
    const ctx = stepContext.getStore();
    if (!ctx) {
      throw new Error(
        "getWorkflowMetadata() can only be called from workflow code or from a step a workflow started; it was called outside any run.",
      );
    }
    return {
      workflowRunId: ctx.workflowRunId,
      workflowStartedAt: new Date(ctx.workflowStartedAt),
      url: workflowBaseUrl(),
    };
  },
};

function currentClosure(): Record<string, unknown> {
  const ctx = stepContext.getStore();
  if (!ctx) {
    throw new Error(
      "A nested step read its closure outside a workflow run. Nested steps can only be called from the workflow that declares them.",
    );
  }
  return ctx.closure ?? {};
}

/** Installed when `@wfkit/core` loads; the latest copy wins (every copy shares the same step context). */
export function installHostRuntime(): void {
  const g = globalThis as unknown as Record<symbol, unknown>;
  g[RUNTIME_KEY] = hostRuntime;
  g[CLOSURE_KEY] = currentClosure;
}
