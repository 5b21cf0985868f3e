export {
  type BuiltCodeProviderOptions,
  createBuiltCodeProvider,
  createEmbeddedCodeProvider,
  type ReloadableCodeProvider,
} from "./built-code.js";
export * from "./durable-streams/index.js";
export {
  createHandlers,
  type HandlersOptions,
  type WebHandler,
  WORKFLOW_BASE_PATH,
  type WorkflowHandlers,
  webhookToken,
} from "./handlers.js";
export { type MaybeHandler, toNodeHandler, toWebRequest, writeWebResponse } from "./node-adapter.js";
export { createRouter, type WorkflowRouter } from "./router.js";
