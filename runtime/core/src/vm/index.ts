// Host-only: builds and runs the deterministic workflow realm. Never imported by code that runs inside it.
export { type CompileWorkflowBundleOptions, compileWorkflowBundle } from "./bundle.js";
export {
  createSandbox,
  type RealmKit,
  realmKitOf,
  type Sandbox,
  type SandboxOptions,
  WorkflowTimeoutError,
} from "./sandbox.js";
export { mapStack } from "./source-maps.js";
export { timeLimitFromEnv } from "./time-limit.js";
