export { createSourceCodeProvider } from "./code-provider.js";
export { findProjectRoot, parseId, resolveModuleFile } from "./project.js";
export { transpileModule } from "./transpile.js";
export { type WorkflowBundle, WorkflowBundler } from "./workflow-bundle.js";
