/**
 * `@wfkit/core`: the host-side runtime. Loading it installs the host `globalThis[Symbol.for("wfkit.runtime")]`
 * (what `sleep`, `getStepMetadata`, `getWorkflowMetadata` do outside the sandbox) and the nested-step closure
 * reader `globalThis[Symbol.for("wfkit.closure")]`.
 */
import { hostRuntime, installHostRuntime, type RuntimeApi } from "../engine/host-runtime.js";
import { RUNTIME_KEY } from "../sandbox/abi.js";

installHostRuntime();

export type {
  HookRecord,
  RunRecord,
  RunStatus,
  StepRecord,
  StreamInfo,
  WaitRecord,
  WorkflowEvent,
  World,
} from "@wfkit/world";
export { TERMINAL_RUN_STATUSES } from "@wfkit/world";
export type { BuildInfo } from "../api/build-output.js";
export type {
  ConcurrencyOptions,
  DebounceOptions,
  FlowControlled,
  ThrottleOptions,
} from "../api/flow-options.js";
export { getHookByToken, type HookInfo, resumeHook, resumeWebhook } from "../api/hooks.js";
export { type ListRunsOptions, listRuns, type RunPage } from "../api/list-runs.js";
export { Run, type StopSleepOptions, type StopSleepResult } from "../api/run.js";
export {
  callOrder,
  type EventInfo,
  eventInfo,
  type RunInfo,
  runInfo,
  type StepInfo,
  stepInfo,
  withWaitingFor,
} from "../api/run-info.js";
export { configureRuntime, engineForWorld, getEngine, type RuntimeOptions } from "../api/runtime-config.js";
export {
  deleteSchedule,
  type EmitOptions,
  type EmitResult,
  type EmittedEvent,
  emit,
  getSchedule,
  listSchedules,
  listTriggers,
  pauseSchedule,
  resumeSchedule,
  type ScheduleInfo,
  type ScheduleOptions,
  schedule,
  type TriggerOptions,
  trigger,
  triggerSchedule,
  untrigger,
} from "../api/schedules.js";
export { getRun, resumePendingRuns, type StartOptions, start } from "../api/start.js";
export { startWorker, type Worker, type WorkerOptions } from "../api/worker.js";
export { worldFromEnv } from "../api/world-selection.js";
export { type Clock, type ClockTimer, currentClock, realClock, setClock } from "../engine/clock.js";
export { type CodeProvider, MissingCodeProviderError, type WorkflowBundle } from "../engine/code-provider.js";
export { Engine, type EngineOptions, type EngineStats } from "../engine/engine.js";
export {
  ReplayDivergenceError,
  RunNotRetryableError,
  StepNotFoundError,
  WorkflowStalledError,
  WorkflowTimeoutError,
} from "../engine/engine-errors.js";
export {
  FlowControl,
  FlowControlUnsupportedError,
  type FlowSpec,
  type WaitingFor,
} from "../engine/flow-control.js";
export {
  hostRuntime,
  installHostRuntime,
  type RuntimeApi,
  type StepMetadata,
  type WorkflowMetadata,
} from "../engine/host-runtime.js";
export { CHILD_TOKEN_PREFIX } from "../engine/instance.js";
export { type ReplayReport, type ReplaySubject, replayAgainst } from "../engine/replay-check.js";
export { type StepContext, stepContext } from "../engine/step-context.js";
export type { WorkflowReadableStream, WorkflowReadableStreamOptions } from "../engine/streams.js";
export * from "../handlers/index.js";
export {
  type DisplayValue,
  displayTypeOf,
  displayValue,
  hydrateData,
  hydrateResourceIO,
  observabilityRevivers,
  type Revivers,
} from "../observability/hydrate.js";
export { toJsonValue } from "../observability/json-value.js";
export {
  type LogLevel,
  type LogRecord,
  type LogSink,
  log,
  logLevel,
  setLogger,
  setLogLevel,
} from "../observability/logger.js";
export {
  type ParsedName,
  parseClassName,
  parseStepName,
  parseWorkflowName,
  shortNameOf,
} from "../observability/names.js";
export { type RunOverhead, runOverhead } from "../observability/overhead.js";
export * from "../sandbox/index.js";
export {
  WorkflowRunCancelledError,
  WorkflowRunFailedError,
  WorkflowRunNotFoundError,
} from "../sandbox/run-errors.js";
export {
  registerSerializableClass,
  type SerializableClass,
  SerializationError,
  WORKFLOW_DESERIALIZE,
  WORKFLOW_SERIALIZE,
} from "../serialization/index.js";
/** [schedules] One tick of a schedule, for drivers of ticks other than an engine's own scheduler (serverless). */
export { runDueTick } from "../triggers/scheduler.js";
/** [schedules] The run ID of a schedule's tick (operators and tests match runs to ticks with it). */
export { MISSED_TICK_GRACE_MS, nextTick, tickRunId } from "../triggers/ticks.js";

/** `getStepMetadata()` of the public API, for host code (steps). */
export function getStepMetadata() {
  return currentRuntime().getStepMetadata();
}

/** `getWorkflowMetadata()` of the public API, for host code (steps). */
export function getWorkflowMetadata() {
  return currentRuntime().getWorkflowMetadata();
}

/** `sleep()` of the public API: in host code (a step) it explains where sleep belongs. */
export function sleep(duration: string | number | Date): Promise<void> {
  return currentRuntime().sleep(duration);
}

function currentRuntime(): RuntimeApi {
  return (globalThis as unknown as Record<symbol, RuntimeApi | undefined>)[RUNTIME_KEY] ?? hostRuntime;
}

export {
  checkStepTimeouts,
  declaredStepTimeouts,
  type InvocationOptions,
  type InvocationOutcome,
  type InvocationResult,
  runInvocation,
  StepBudgetExceededError,
  type StepTimeout,
  stepBudgetFromEnv,
} from "../serverless/invocation.js";
