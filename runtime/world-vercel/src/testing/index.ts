export { type FreshProcessOptions, freshProcessInvoker } from "./fresh-process.js";
export {
  type ConsumerOptions,
  type Deliver,
  type DeliveryRecord,
  type QueueService,
  type QueueServiceOptions,
  startQueueService,
} from "./queue-service.js";
