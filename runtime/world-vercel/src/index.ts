export { createWorld } from "./create-world.js";
export { createFlowHandler, type FlowHandlerOptions } from "./flow-handler.js";
export { createTickHandler, type TickHandlerOptions } from "./tick-handler.js";
export {
  armHorizonMs,
  DEFAULT_HEARTBEAT_CRON,
  type HeartbeatResult,
  heartbeat,
  TICK_PATH,
  type TickMessage,
  VERCEL_MISSED_TICK_GRACE_MS,
} from "./ticks.js";
export {
  createVercelWorld,
  FLOW_TOPIC,
  queueClientFrom,
  type RunMessage,
  type VercelQueueOptions,
  type VercelWorld,
  type VercelWorldOptions,
} from "./vercel-world.js";
