/**
 * `workflow/next`: `withWorkflow(nextConfig)` for `next.config.ts`, plus what the generated routes and the
 * loader's output call at run time (`workflowRoute`, `configureNextRuntime`).
 */
export {
  configureNextRuntime,
  type NextRuntimeOptions,
  type RouteKind,
  workflowRoute,
} from "./next-runtime.js";
export { type NextConfigFunction, type WithWorkflowOptions, withWorkflow } from "./with-workflow.js";
