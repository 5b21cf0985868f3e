/**
 * What a running step body can ask about itself (`getStepMetadata()`, the closure of a nested step,
 * `getWorkflowMetadata()`), carried through its async calls with AsyncLocalStorage. The storage lives on a
 * global symbol so that two copies of this package in one process (a bundler duplicating it) still agree.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { World } from "@wfkit/world";

export interface StepContext {
  /** Unique across runs (`<runId>/<correlationId>`), so it works as an idempotency key. */
  stepId: string;
  /** The step's ID (`step//<file>//<name>`), WDK's `stepName`. */
  stepName?: string;
  /** When the step's first attempt started (a retry keeps it, so back-off can be measured from it). */
  stepStartedAt: Date;
  /** 1-based attempt number. */
  attempt: number;
  closure: Record<string, unknown> | undefined;
  workflowRunId: string;
  /** The run's workflow ID (`workflow//<file>//<name>`). */
  workflowName?: string;
  workflowStartedAt: Date;
  /** Fires when the run is cancelled (or ends) while the body runs; its reason says why. */
  signal?: AbortSignal;
  /** The world of the run, for `getWritable()` inside the step. */
  world?: () => Promise<World>;
  /** Starts a run on the engine that runs this step (the built-in step behind `start()` in workflow code). */
  startRun?: (
    workflowId: string,
    args: unknown[],
    opts: { runId: string; onConflict: "use-existing"; metadata: Record<string, unknown> },
  ) => Promise<string>;
  /** [events] `emit()` on the engine that runs this step (step code, and the built-in step of workflow code). */
  emit?: (
    name: string,
    data: unknown,
    opts?: { key?: string; id?: string },
  ) => Promise<{ eventId: string; delivered: string[]; started: string[] }>;
}

const STORAGE_KEY = Symbol.for("wfkit.stepContext");

const holder = globalThis as unknown as Record<symbol, AsyncLocalStorage<StepContext> | undefined>;
holder[STORAGE_KEY] ??= new AsyncLocalStorage<StepContext>();

export const stepContext: AsyncLocalStorage<StepContext> = holder[STORAGE_KEY];
