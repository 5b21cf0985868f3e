/**
 * The host process's `globalThis[Symbol.for("wfkit.runtime")]`: what the public `workflow` functions do
 * when called outside the sandbox, that is inside a step body or in plain application code.
 */
import { type HookInfo, resumeHook } from "../api/hooks.js";
import { CLOSURE_KEY, RUNTIME_KEY } from "../sandbox/abi.js";
import type { StepMetadata, WorkflowMetadata } from "../sandbox/metadata.js";
import { stepContext } from "./step-context.js";
import { DEFAULT_STREAM, worldWritable } from "./streams.js";
import { workflowBaseUrl } from "./workflow-url.js";

export type { StepMetadata, WorkflowMetadata };

export interface RuntimeApi {
  sleep(duration: string | number | Date): Promise<void>;
  createHook(opts?: { token?: string; metadata?: unknown }): never;
  createWebhook(opts?: unknown): never;
  waitForEvent(name: string, opts?: unknown): never;
  resumeHook(token: string, payload: unknown): Promise<HookInfo>;
  getWritable(opts?: { namespace?: string }): WritableStream<unknown>;
  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response>;
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
  createHook(): never {
    throw new Error(
      'createHook() makes a run wait for the outside world, so it belongs in a "use workflow" function. ' +
        "Create the hook in the workflow and pass hook.token to the step (or to whoever will resume it).",
    );
  },
  createWebhook(): never {
    throw new Error(
      'createWebhook() makes a run wait for an HTTP request, so it belongs in a "use workflow" function. Create ' +
        "it in the workflow and hand webhook.url to whoever will call it.",
    );
  },
  waitForEvent(): never {
    throw new Error(
      'waitForEvent() makes a run wait for an event, so it belongs in a "use workflow" function, not in a step or ' +
        "plain code. To send an event from here, use emit() from workflow/api.",
    );
  },
  resumeHook(token: string, payload: unknown): Promise<HookInfo> {
    return resumeHook(token, payload);
  },
  /** In a step (or plain code) `fetch` from `workflow` is the platform's fetch. */
  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    return globalThis.fetch(input, init);
  },
  getWritable(opts: { namespace?: string } = {}): WritableStream<unknown> {
    const ctx = stepContext.getStore();
    if (!ctx?.world) {
      throw new Error(
        "getWritable() gives the output stream of the current run: call it in workflow code or in a step a workflow " +
          "started. Application code reads a run's stream with getRun(runId).getReadable().",
      );
    }
    return worldWritable(ctx.world, ctx.workflowRunId, opts.namespace ?? DEFAULT_STREAM);
  },
  getStepMetadata(): StepMetadata {
    const ctx = stepContext.getStore();
    if (!ctx) {
      throw new Error(
        'getStepMetadata() can only be called while a step runs (inside a "use step" function started by a workflow).',
      );
    }
    const metadata = {
      stepName: ctx.stepName ?? "",
      stepId: ctx.stepId,
      stepStartedAt: new Date(ctx.stepStartedAt),
      attempt: ctx.attempt,
    } as StepMetadata;
    // Not enumerable, so the metadata stays a plain serializable object (a step may return it): an AbortSignal
    // cannot be serialized. A context made outside the engine (tests) has no run to cancel: it never fires.
    Object.defineProperty(metadata, "signal", {
      value: ctx.signal ?? new AbortController().signal,
      enumerable: false,
    });
    return metadata;
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
      workflowName: ctx.workflowName ?? "",
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
