export {
  createStreamsHandler,
  STREAMS_PATH,
  type StreamAccess,
  type StreamsHandler,
  type StreamsHandlerOptions,
} from "./handler.js";
export {
  formatOffset,
  type ProtocolOptions,
  parseOffset,
  type StreamBatch,
  type StreamRead,
  type StreamSource,
  serveRead,
} from "./protocol.js";
export {
  ALL_RUNS,
  createReadToken,
  MissingStreamsSecretError,
  type ReadTokenOptions,
  readTokenScope,
  STREAMS_SECRET_ENV,
} from "./read-token.js";
export { type ChangeMessage, type ErrorView, RunStateDeriver, type RunStateEntity } from "./run-state.js";
export { RUNS_LIST_LIMIT, runOutputSource, runStateSource, runsListSource } from "./sources.js";
export { createWritableStreamsHandler, type WritableStreamsOptions } from "./writable-streams.js";
