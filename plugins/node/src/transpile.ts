/**
 * Turns one source file into JavaScript Node can run: the directive compiler (client or step mode) first,
 * then TypeScript/JSX stripped by swc, with the two source maps chained so stacks point at the original.
 */

import { transformSync } from "@swc/core";
import {
  checkNesting,
  type Diagnostic,
  mayNeedCompiler,
  type TransformOptions,
  transform,
} from "@wfkit/compiler";

export type TranspileMode = "client" | "step";

const TS_EXTENSION = /\.(c|m)?tsx?$/;

export interface TranspileResult {
  code: string;
  /** Workflow and step IDs the file declares (empty when it has no directives). */
  workflowIds: string[];
  stepIds: string[];
}

function compileError(filename: string, errors: Diagnostic[]): Error {
  return new Error(
    `Cannot compile ${filename}:\n` +
      errors
        .map((d) => `  ${d.file}:${d.line}:${d.column} ${d.code} ${d.message}\n    hint: ${d.hint}`)
        .join("\n"),
  );
}

export function needsTranspile(filename: string, source: string): boolean {
  return TS_EXTENSION.test(filename) || mayNeedCompiler(source);
}

export function transpileModule(
  source: string,
  filename: string,
  projectRoot: string,
  mode: TranspileMode,
): TranspileResult {
  let code = source;
  let inputSourceMap: string | undefined;
  let workflowIds: string[] = [];
  let stepIds: string[] = [];
  if (mayNeedCompiler(source)) {
    // The compiler checks nesting itself before it parses.
    const out = transform(source, { filename, projectRoot, mode, sourceMaps: true } as TransformOptions);
    const errors = out.diagnostics.filter((d) => d.severity === "error");
    if (errors.length > 0) throw compileError(filename, errors);
    code = out.code;
    if (out.map) inputSourceMap = typeof out.map === "string" ? out.map : JSON.stringify(out.map);
    workflowIds = out.workflows.map((w) => w.id);
    stepIds = out.steps.map((s) => s.id);
  } else {
    // Type stripping parses with swc too: a file nested too deeply would crash this thread, and the app.
    const tooDeep = checkNesting(source, filename);
    if (tooDeep) throw compileError(filename, [tooDeep]);
  }
  const tsx = /x$/.test(filename);
  const isTs = TS_EXTENSION.test(filename);
  const stripped = transformSync(code, {
    filename,
    sourceFileName: filename,
    inputSourceMap,
    sourceMaps: "inline",
    swcrc: false,
    configFile: false,
    jsc: {
      parser: isTs ? { syntax: "typescript", tsx } : { syntax: "ecmascript", jsx: tsx },
      target: "es2022",
      transform: { react: { runtime: "automatic" } },
    },
    module: { type: "es6" },
  });
  return { code: stripped.code, workflowIds, stepIds };
}
