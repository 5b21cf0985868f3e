/**
 * `workflow`: the functions workflow and step code call. This module is bundled into the workflow sandbox,
 * so it imports nothing from Node: each function delegates to the runtime object that the sandbox (per
 * run) or the host process (for steps) installs under a global symbol.
 */
import { RUNTIME_KEY } from "@wfkit/core/sandbox";

export { FatalError, RetryableError, type RetryableErrorOptions } from "@wfkit/core/sandbox";

export interface StepMetadata {
  /** `<runId>/<correlationId>` of this step call: unique across runs and stable across retries and replays,
   *  so it serves as an idempotency key. */
  stepId: string;
  /** When the current attempt started. */
  stepStartedAt: Date;
  /** 1 for the first attempt, 2 for the first retry, … */
  attempt: number;
}

export interface WorkflowMetadata {
  workflowRunId: string;
  workflowStartedAt: Date;
  /** The app's base URL (`WORKFLOW_BASE_URL`, or what an integration fills in). */
  url: string;
}

interface RuntimeBinding {
  sleep(duration: string | number | Date): Promise<void>;
  getStepMetadata(): StepMetadata;
  getWorkflowMetadata(): WorkflowMetadata;
}

function runtime(fn: string): RuntimeBinding {
  const bound = (globalThis as Record<symbol, RuntimeBinding | undefined>)[RUNTIME_KEY];
  if (!bound) {
    throw new Error(
      `${fn} needs the workflow runtime, which is not loaded in this process. Start the program with ` +
        "`node --import workflow/register`, or build it with a workflow bundler plugin.",
    );
  }
  return bound;
}

/** Durable sleep: `"1.5s"`, `"10m"`, `"3d"`, milliseconds, or a Date. Survives restarts. Workflow code only. */
export function sleep(duration: string | number | Date): Promise<void> {
  return runtime("sleep()").sleep(duration);
}

/** Metadata of the step being executed. Step code only. */
export function getStepMetadata(): StepMetadata {
  return runtime("getStepMetadata()").getStepMetadata();
}

/** Metadata of the current run. Workflow and step code. */
export function getWorkflowMetadata(): WorkflowMetadata {
  return runtime("getWorkflowMetadata()").getWorkflowMetadata();
}
