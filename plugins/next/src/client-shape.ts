/**
 * What the loader does to one file: the compiler's client shape, plus (in the Node.js server bundle) a
 * call to `configureNextRuntime`, so the runtime knows where the build is as soon as app code imports a
 * workflow, before any workflow route has been requested.
 */
import { transform } from "@wfkit/compiler";
import type { WorkflowLoaderOptions } from "./loader-options.js";

export interface ShapedModule {
  code: string;
  map: unknown;
  /** Compiler warnings, as `file:line:column: message hint`. */
  warnings: string[];
}

/** Undefined when the file declares no workflow or step (a directive string in a comment, say). */
export function clientShape(
  source: string,
  file: string,
  options: WorkflowLoaderOptions,
): ShapedModule | undefined {
  const result = transform(source, { filename: file, projectRoot: options.projectRoot, mode: "client" });
  const describe = (d: (typeof result.diagnostics)[number]) =>
    `${d.file}:${d.line}:${d.column}: ${d.message}${d.hint ? ` ${d.hint}` : ""}`;
  const errors = result.diagnostics.filter((d) => d.severity === "error");
  if (errors.length > 0) throw new Error(`workflow compiler:\n${errors.map(describe).join("\n")}`);
  if (result.workflows.length === 0 && result.steps.length === 0) {
    // Serializable classes only: their registrations, so instances the app passes to start() serialize.
    return result.classes
      ? { code: result.code, map: result.map ?? undefined, warnings: result.diagnostics.map(describe) }
      : undefined;
  }
  let code = result.code;
  // Imports are hoisted, so appending keeps the source map's lines valid. CommonJS files cannot import.
  if (options.server && !/\.c[jt]s$/.test(file))
    code += `\nimport { configureNextRuntime as __wfkitConfigureNext } from "workflow/next";\n__wfkitConfigureNext(${JSON.stringify(options.runtime)});\n`;
  return { code, map: result.map ?? undefined, warnings: result.diagnostics.map(describe) };
}
