export { checkDelivery, consumedDeliveryIds, DeliveryBook } from "./deliveries.js";
export * from "./errors.js";
export { newRunId } from "./ids.js";
export {
  type ApplyEffects,
  applyEvent,
  applyEvents,
  canAppend,
  checkAppendable,
  checkBatchShape,
  checkHookTokens,
  createRunState,
  isTerminalStatus,
  materialize,
  type RunState,
  stampEvents,
  TERMINAL_EVENT_TYPES,
  type TokenHolder,
  TRANSPARENT_EVENT_TYPES,
  touchedIds,
} from "./materialize.js";
export { createMemoryWorld, type MemoryWorldOptions } from "./memory.js";
export { Notifier } from "./notifier.js";
export { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, RunIndex } from "./run-index.js";
export { MemoryStepTasks, type StepTaskWorld, stepTasksOf } from "./step-tasks.js";
export { MemoryStreams, StreamClosedError, StreamListeners } from "./streams.js";
export * from "./types.js";
