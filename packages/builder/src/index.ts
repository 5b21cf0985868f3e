export { type BuildProjectOptions, type BuildProjectResult, buildProject } from "./build-project.js";
export type { BundleResult } from "./bundle.js";
export type { CompiledModule } from "./compile-plugin.js";
export { type DiscoverOptions, discoverDirectiveFiles } from "./discover.js";
export { BuildError, type BuildProblem } from "./errors.js";
export {
  type CreateManifestOptions,
  contentHash,
  createManifest,
  type Manifest,
  type ManifestEntry,
  type WorkflowManifestEntry,
  writeManifest,
} from "./manifest.js";
export { isNodeBuiltin } from "./node-builtins.js";
export { RebuildQueue, type RebuildReport } from "./rebuild-queue.js";
export { buildStepBundle, type StepBundleOptions } from "./step-bundle.js";
export { sequenceFingerprint, stepSequence } from "./step-sequence.js";
export {
  DEFAULT_HEARTBEAT,
  FLOW_FUNCTION,
  ROUTER_FUNCTION,
  TICK_FUNCTION,
  VERCEL_FLOW_TOPIC,
  type VercelCron,
  type VercelDeploymentOptions,
  type VercelDeploymentResult,
  type VercelFunctionConfig,
  type VercelOutputConfig,
  writeVercelDeployment,
} from "./vercel-output.js";
export {
  buildWorkflowBundle,
  DEFAULT_WORKFLOW_BUNDLE_OUTFILE,
  type WorkflowBundleOptions,
} from "./workflow-bundle.js";
