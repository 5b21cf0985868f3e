import type { NextRuntimeOptions } from "./next-runtime.js";

/** What `withWorkflow` passes to the loader (plain JSON: Turbopack serializes loader options). */
export interface WorkflowLoaderOptions {
  projectRoot: string;
  /** Node.js server bundle (not the browser, not the edge runtime). */
  server: boolean;
  runtime: NextRuntimeOptions;
}
