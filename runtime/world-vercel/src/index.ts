export { createWorld } from "./create-world.js";
export { createFlowHandler, type FlowHandlerOptions } from "./flow-handler.js";
export {
  createVercelWorld,
  FLOW_TOPIC,
  queueClientFrom,
  type RunMessage,
  type VercelQueueOptions,
  type VercelWorld,
  type VercelWorldOptions,
} from "./vercel-world.js";
