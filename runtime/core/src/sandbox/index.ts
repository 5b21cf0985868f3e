// Sandbox-safe exports: nothing here may import Node built-ins, because the workflow bundle includes it.
export * from "./abi.js";
export * from "./duration.js";
export * from "./errors.js";
export * from "./hook-errors.js";
export type { HookInfo, StepMetadata, WorkflowMetadata } from "./metadata.js";
export * from "./run-errors.js";
export * from "./workflow-error.js";
export * from "./world-errors.js";
