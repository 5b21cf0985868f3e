/**
 * What one finished attempt of a step body asks the run's log to record: `step_completed` with the serialized
 * value, `step_retrying` with the next attempt's time, or `step_failed`. Decided where the body ran (the
 * executor's process, or a worker that claimed the step as a task), because only there are the returned value
 * and the thrown error live objects (`FatalError`, `RetryableError.retryAfter`, a stream to copy).
 */
import type { StepTaskOutcome } from "@wfkit/world";
import { serialize, serializeAsync, serializeError } from "../serialization/index.js";
import { mapStack } from "../vm/index.js";
import { decideRetry, type RetryOptions } from "./retry-policy.js";
import { type StreamScope, streamReducer, withStreamScope } from "./streams.js";

export type StepResult = { ok: true; value: unknown } | { ok: false; error: unknown; maxRetries: number };

export interface OutcomeContext {
  readonly retry: RetryOptions;
  now(): number;
  /** Where streams in the returned value go (a step's result may hold a ReadableStream). */
  streamScope(runId: string): StreamScope;
}

export async function stepOutcome(
  ctx: OutcomeContext,
  step: { runId: string; stepName: string; attempt: number; attemptBase?: number },
  result: StepResult,
): Promise<StepTaskOutcome> {
  if (result.ok) {
    const path = `${step.stepName} return value`;
    const scope = ctx.streamScope(step.runId);
    try {
      let output: string;
      try {
        output = withStreamScope(scope, () => serialize(result.value, { path }));
      } catch {
        // A Request/Response with a body can only be read asynchronously; the synchronous path stays the fast
        // one for everything else.
        output = await serializeAsync(result.value, { path, reducers: [streamReducer(scope)] });
      }
      return { type: "step_completed", data: { output } };
    } catch (error) {
      // Retrying cannot make an unserializable value serializable.
      return { type: "step_failed", data: { error: recordError(error) } };
    }
  }
  // After an operator's retry the step gets its whole retry budget again.
  const budgetAttempt = step.attempt - (step.attemptBase ?? 0);
  const decision = decideRetry(result.error, budgetAttempt, result.maxRetries, ctx.now(), ctx.retry);
  const error = recordError(result.error);
  if (!decision.retry) return { type: "step_failed", data: { error } };
  return { type: "step_retrying", data: { attempt: step.attempt, error, retryAt: decision.retryAt } };
}

/** Serializes an error for the log with its stack mapped to the original source lines. */
export function recordError(error: unknown): string {
  if (typeof error === "object" && error !== null && typeof (error as Error).stack === "string") {
    try {
      (error as Error).stack = mapStack((error as Error).stack!);
    } catch {
      // A frozen error keeps its stack as is.
    }
  }
  return serializeError(error);
}
