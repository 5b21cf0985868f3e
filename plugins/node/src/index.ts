export { createSourceCodeProvider } from "./code-provider.js";
export { findProjectRoot, parseId, resolveModuleFile } from "./project.js";
export { transpileModule } from "./transpile.js";
export { WorkflowBundler, type WorkflowBundle } from "./workflow-bundle.js";
