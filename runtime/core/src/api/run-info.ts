/**
 * What `listRuns()`, `run.steps()` and `run.events()` return: the world's records with times as Dates and stored
 * values decoded for reading (`hydrateData`: no user code runs; app classes, streams and requests come back as
 * display objects). For the values themselves as the app sees them, use `run.returnValue`.
 */
import type {
  EventType,
  RunRecord,
  RunStatus,
  StepRecord,
  StepStatus,
  WorkflowEvent,
  World,
} from "@wfkit/world";
import { FlowControl, type WaitingFor } from "../engine/flow-control.js";
import { hydrateData, hydrateResourceIO } from "../observability/hydrate.js";

export interface RunInfo {
  runId: string;
  workflowName: string;
  status: RunStatus;
  /** The workflow's arguments. */
  input: unknown;
  /** Its return value, once completed. */
  output?: unknown;
  /** The error it failed with (an `Error` with the recorded stack), once failed. */
  error?: unknown;
  cancelReason?: string;
  /** Set by the runtime (e.g. `forkedFrom` on a fork, `traceparent`), plain JSON. */
  metadata?: Record<string, unknown>;
  createdAt: Date;
  startedAt?: Date;
  completedAt?: Date;
  /**
   * [flow control] Why a run that has not finished is not executing: `"debounced"` (its debounce period has not
   * ended), `"throttled"` (its throttle's starts for the period are used up), `"concurrency"` (its concurrency
   * limit is reached). Set by `listRuns()` and `wf inspect runs`.
   */
  waitingFor?: WaitingFor;
}

/** [flow control] The runs' infos with `waitingFor` filled in from the world's flow gates. */
export async function withWaitingFor(world: World, records: RunRecord[]): Promise<RunInfo[]> {
  return Promise.all(
    records.map(async (record) => {
      const info = runInfo(record);
      const why = await FlowControl.waitingFor(world, record);
      return why ? { ...info, waitingFor: why } : info;
    }),
  );
}

export interface StepInfo {
  runId: string;
  /** The step call's ID in the run (`step_0003`): what `run.fork({ fromStep })` takes. */
  stepId: string;
  /** The step function's ID (`step//src/order.ts//charge`). */
  stepName: string;
  status: StepStatus;
  /** The latest attempt (1-based; 0 before the first start). */
  attempt: number;
  /** `{ args, closure? }` as the step received them. */
  input: unknown;
  output?: unknown;
  error?: unknown;
  retryAt?: Date;
  createdAt: Date;
  startedAt?: Date;
  completedAt?: Date;
}

export interface EventInfo {
  runId: string;
  seq: number;
  type: EventType;
  /** The step, sleep or hook the event belongs to. */
  correlationId?: string;
  createdAt: Date;
  /** The event's payload with stored values decoded. */
  data?: Record<string, unknown>;
}

const date = (ms: number | undefined): Date | undefined => (ms === undefined ? undefined : new Date(ms));

function defined<T extends object>(object: T): T {
  for (const key of Object.keys(object) as (keyof T)[]) if (object[key] === undefined) delete object[key];
  return object;
}

export function runInfo(record: RunRecord): RunInfo {
  return defined({
    runId: record.runId,
    workflowName: record.workflowName,
    status: record.status,
    input: hydrateData(record.input),
    output: record.output === undefined ? undefined : hydrateData(record.output),
    error: record.error === undefined ? undefined : hydrateData(record.error),
    cancelReason: record.cancelReason,
    metadata: record.metadata,
    createdAt: new Date(record.createdAt),
    startedAt: date(record.startedAt),
    completedAt: date(record.completedAt),
  });
}

export function stepInfo(record: StepRecord): StepInfo {
  return defined({
    runId: record.runId,
    stepId: record.stepId,
    stepName: record.stepName,
    status: record.status,
    attempt: record.attempt,
    input: hydrateData(record.input),
    output: record.output === undefined ? undefined : hydrateData(record.output),
    error: record.error === undefined ? undefined : hydrateData(record.error),
    retryAt: date(record.retryAt),
    createdAt: new Date(record.createdAt),
    startedAt: date(record.startedAt),
    completedAt: date(record.completedAt),
  });
}

export function eventInfo(event: WorkflowEvent): EventInfo {
  return defined({
    runId: event.runId,
    seq: event.seq,
    type: event.type,
    correlationId: event.correlationId,
    createdAt: new Date(event.createdAt),
    data:
      event.data === undefined
        ? undefined
        : (hydrateResourceIO({ data: event.data }).data as Record<string, unknown>),
  });
}

/** Correlation IDs (`step_0009`, `step_10000`) in the order the workflow code made the calls. */
export function callOrder(a: string, b: string): number {
  const n = (id: string) => Number(id.slice(id.lastIndexOf("_") + 1));
  return n(a) - n(b) || (a < b ? -1 : a > b ? 1 : 0);
}
