/** Which of the three shapes of a source file to produce. */
export type TransformMode = "workflow" | "step" | "client";

export interface TransformOptions {
  /** Path of the file, absolute or relative to `projectRoot`; decides the module part of every ID. */
  filename: string;
  /** Directory IDs are relative to. Defaults to the nearest folder above `process.cwd()` with a package.json. */
  projectRoot?: string;
  mode: TransformMode;
  /** Generate a source map (default true). `false` skips the work and returns `map: null`. */
  sourceMaps?: boolean;
}

/** Position in the ORIGINAL source: 1-based line, 0-based column (UTF-16 code units). */
export interface SourceLocation {
  line: number;
  column: number;
}

/** A workflow or step found in the file, for the build manifest. */
export interface FunctionEntry {
  /** Local name: `charge`, `Order.load`, `Order#save`, `checkout/notify` (nested step), `default`. */
  name: string;
  /** Stable ID: `workflow//src/order.ts//checkout`, `step//src/order.ts//charge`. */
  id: string;
  loc: SourceLocation;
}

export type DiagnosticCode =
  | "DIRECTIVE_NOT_ASYNC"
  | "DIRECTIVE_NOT_FIRST"
  | "DIRECTIVE_MISSPELLED"
  | "NODE_BUILTIN_IN_WORKFLOW"
  | "TIMER_IN_WORKFLOW"
  | "FETCH_IN_WORKFLOW"
  | "NESTED_WORKFLOW"
  | "NESTED_STEP_OUTSIDE_WORKFLOW"
  | "UNSUPPORTED_STEP_SHAPE"
  | "MODULE_DIRECTIVE_NON_FUNCTION_EXPORT"
  | "SYNTAX_ERROR"
  | "NESTING_TOO_DEEP"
  | "TOP_LEVEL_AWAIT_IN_WORKFLOW_BUNDLE"
  | "INTERNAL_ERROR";

export interface Diagnostic {
  code: DiagnosticCode;
  severity: "error" | "warning";
  message: string;
  file: string;
  line: number;
  column: number;
  /** How to fix it, one sentence. */
  hint: string;
}

/**
 * Source map v3 as a plain JSON-compatible object (not a string): pass it to `JSON.stringify` to write a
 * `.map` file, or hand it to a bundler's `transform` hook as is.
 */
export interface SourceMapV3 {
  version: 3;
  file?: string;
  sources: string[];
  sourcesContent?: (string | null)[];
  names: string[];
  mappings: string;
}

export interface TransformResult {
  code: string;
  /** `null` when the file was returned unchanged or `sourceMaps: false`. */
  map: SourceMapV3 | null;
  workflows: FunctionEntry[];
  steps: FunctionEntry[];
  diagnostics: Diagnostic[];
  /**
   * Classes with static `WORKFLOW_SERIALIZE`/`WORKFLOW_DESERIALIZE` methods that the output registers for
   * serialization (`class//<module>//<Name>`); absent when there are none.
   */
  classes?: { name: string; id: string }[];
}
