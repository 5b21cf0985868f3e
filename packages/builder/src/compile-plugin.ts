import { readFile } from "node:fs/promises";
import { type FunctionEntry, mayNeedCompiler, type TransformMode, transform } from "@wfkit/compiler";
import type { PartialMessage, Plugin } from "esbuild";
import { loaderFor, relativePosix, SCRIPT_FILTER } from "./source-files.js";

/** What the compiler found in one file of a bundle; the input of `createManifest`. */
export interface CompiledModule {
  /** Absolute path. */
  file: string;
  /** The original source text (function hashes are computed from it). */
  source: string;
  workflows: FunctionEntry[];
  steps: FunctionEntry[];
}

/**
 * Runs the compiler in `mode` on every script esbuild loads that mentions a directive; every other file
 * passes through untouched (we return its text so esbuild does not read it a second time). The compiler's
 * source map is inlined, which esbuild composes with its own, so the bundle maps back to the original files.
 */
export function compilePlugin(
  projectRoot: string,
  mode: TransformMode,
  compiled: Map<string, CompiledModule>,
): Plugin {
  return {
    name: `wfkit-compile-${mode}`,
    setup(build) {
      build.onLoad({ filter: SCRIPT_FILTER, namespace: "file" }, async (args) => {
        let source: string;
        try {
          source = await readFile(args.path, "utf8");
        } catch (error) {
          return {
            errors: [{ text: `Cannot read ${relativePosix(projectRoot, args.path)}: ${String(error)}` }],
          };
        }
        const loader = loaderFor(args.path);
        if (!mayNeedCompiler(source)) return { contents: source, loader };
        let out: ReturnType<typeof transform>;
        try {
          out = transform(source, { filename: args.path, projectRoot, mode, sourceMaps: true });
        } catch (error) {
          return { errors: [{ text: `The compiler crashed on this file: ${String(error)}` }] };
        }
        const errors: PartialMessage[] = [];
        const warnings: PartialMessage[] = [];
        for (const d of out.diagnostics) {
          const message: PartialMessage = {
            text: `${d.message} [${d.code}]`,
            notes: d.hint ? [{ text: `Fix: ${d.hint}` }] : [],
            location: { file: relativePosix(projectRoot, args.path), line: d.line, column: d.column },
          };
          (d.severity === "error" ? errors : warnings).push(message);
        }
        if (out.workflows.length > 0 || out.steps.length > 0) {
          compiled.set(args.path, { file: args.path, source, workflows: out.workflows, steps: out.steps });
        }
        const contents = out.map
          ? `${out.code}\n//# sourceMappingURL=data:application/json;base64,${Buffer.from(JSON.stringify(out.map)).toString("base64")}\n`
          : out.code;
        return { contents, loader, errors, warnings };
      });
    },
  };
}
