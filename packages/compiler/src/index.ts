export { mayContainDirective } from "./directives.js";
export {
  findProjectRoot,
  locatePackage,
  moduleSpecifier,
  parseFunctionId,
  resolveModuleSpecifier,
  stepId,
  workflowId,
} from "./module-id.js";
export { checkNesting, NESTING_LIMIT, nestingLimit } from "./nesting.js";
export { mayNeedCompiler } from "./serde-classes.js";
export { transform } from "./transform.js";
export type {
  Diagnostic,
  DiagnosticCode,
  FunctionEntry,
  SourceLocation,
  SourceMapV3,
  TransformMode,
  TransformOptions,
  TransformResult,
} from "./types.js";
