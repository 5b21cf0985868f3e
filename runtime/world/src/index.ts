export {
  type LoadedRun,
  type LostAppend,
  lostAppend,
  RunStateCache,
  refusal,
  sameEvent,
  stateFromRows,
} from "./cached-appends.js";
export {
  type CursorKey,
  compareCursorKeys,
  DEFAULT_PAGE_SIZE,
  decodeCursor,
  encodeCursor,
  MAX_PAGE_SIZE,
  pageSize,
} from "./cursor.js";
export { checkDelivery, consumedDeliveryIds, DeliveryBook } from "./deliveries.js";
export * from "./errors.js";
export {
  checkFlowGateId,
  type FlowGateRecord,
  type FlowGateUpdate,
  type FlowGateWorld,
  flowGatesOf,
  MAX_FLOW_GATE_ID_LENGTH,
  MemoryFlowGates,
  updateByCompareAndSet,
} from "./flow-gates.js";
export { newRunId } from "./ids.js";
export { KeyedMutex } from "./keyed-mutex.js";
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
export { RunIndex } from "./run-index.js";
export {
  advanceTick,
  checkScheduleName,
  compareTriggers,
  type EventTrigger,
  hooksWithPrefix,
  MemorySchedules,
  mergeSchedule,
  SCHEDULE_METHODS,
  type ScheduleAndEventMethods,
  type ScheduleCatchUp,
  type ScheduleDefinition,
  type ScheduleOverlap,
  type ScheduleRecord,
  type ScheduleStore,
  StoredSchedules,
  schedulesOf,
} from "./schedules.js";
export { MemoryStepTasks, type StepTaskWorld, stepTasksOf } from "./step-tasks.js";
export {
  type StepTaskStore,
  StoredTasksAndStreams,
  type StreamStore,
} from "./stored-tasks-and-streams.js";
export { byName, MemoryStreams, StreamClosedError, StreamListeners } from "./streams.js";
export * from "./types.js";
