// Host-only: builds and runs the deterministic workflow realm. Never imported by code that runs inside it.
export { type CompileWorkflowBundleOptions, compileWorkflowBundle } from "./bundle.js";
export { createSandbox, type Sandbox, type SandboxOptions } from "./sandbox.js";
export { mapStack } from "./source-maps.js";
