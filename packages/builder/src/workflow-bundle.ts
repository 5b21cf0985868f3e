/**
 * The workflow bundle: one script for the `node:vm` sandbox that registers every workflow of the project in
 * `globalThis[Symbol.for("wfkit.workflows")]`. Directive files are compiled in workflow mode (step bodies
 * become `useStep` proxies and imports only steps use are dropped), then esbuild follows what is left; any
 * Node built-in still reachable is a build error that shows the whole import chain.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import type { Plugin } from "esbuild";
import {
  type BundleResult,
  baseOptions,
  collectOutput,
  ENTRY_KEY,
  entryPlugin,
  runEsbuild,
} from "./bundle.js";
import { type CompiledModule, compilePlugin } from "./compile-plugin.js";
import { BuildError, type BuildProblem } from "./errors.js";
import { findForbiddenImports, locateSpecifier } from "./import-chain.js";
import { isNodeBuiltin } from "./node-builtins.js";

export interface WorkflowBundleOptions {
  /** IDs and reported paths are relative to it; esbuild runs from here. */
  projectRoot: string;
  /** Directive files (absolute, or relative to `projectRoot`), usually from `discoverDirectiveFiles`. */
  entries: string[];
  /** Also write the bundle and `<outfile>.map` here. Without it nothing is written. */
  outfile?: string;
  minify?: boolean;
  /** A tsconfig to use for every file; by default esbuild reads the nearest `tsconfig.json` of each file. */
  tsconfig?: string;
  /** Extra package.json export conditions, tried before `import`/`default` (e.g. `["source"]`). */
  conditions?: string[];
}

/** Where the bundle is written when `outfile` is not given (relative to the project root); a bundle kept in
 *  memory still has its map's `sources` made relative to this file's folder. */
export const DEFAULT_WORKFLOW_BUNDLE_OUTFILE = ".workflow/workflows.js";

/** Builds the sandbox bundle; throws `BuildError` on compiler errors, resolve errors or reachable built-ins. */
export async function buildWorkflowBundle(options: WorkflowBundleOptions): Promise<BundleResult> {
  const projectRoot = path.resolve(options.projectRoot);
  const outfile = path.resolve(projectRoot, options.outfile ?? DEFAULT_WORKFLOW_BUNDLE_OUTFILE);
  const compiled = new Map<string, CompiledModule>();
  const result = await runEsbuild("Building the workflow bundle", {
    ...baseOptions(
      projectRoot,
      outfile,
      options.outfile !== undefined,
      options.minify ?? false,
      options.tsconfig,
    ),
    format: "iife",
    platform: "neutral",
    target: "es2022",
    // `neutral` reads no main fields by default; packages without an `exports` map need these.
    mainFields: ["module", "main"],
    // "workflow": packages may export a sandbox-safe variant for workflow code (`workflow/api`'s `start` starts a
    // child run there, instead of the host engine's `start`).
    conditions: ["workflow", ...(options.conditions ?? [])],
    plugins: [
      entryPlugin(projectRoot, options.entries),
      builtinsAsExternal(),
      compilePlugin(projectRoot, "workflow", compiled),
    ],
  });
  const chains = findForbiddenImports(result.metafile, [ENTRY_KEY], isNodeBuiltin);
  if (chains.length > 0)
    throw new BuildError(
      "Building the workflow bundle",
      chains.map((chain) => builtinProblem(projectRoot, chain)),
    );
  return collectOutput(result, projectRoot, outfile, options.outfile !== undefined, compiled);
}

/**
 * Lets built-in imports through as externals instead of failing inside esbuild, so the build completes and
 * the metafile holds the full import graph; the chain check above then reports every one with its path.
 */
function builtinsAsExternal(): Plugin {
  return {
    name: "wfkit-builtins-as-external",
    setup(b) {
      b.onResolve({ filter: /^[a-z_]/ }, (args) =>
        isNodeBuiltin(args.path) ? { path: args.path, external: true } : undefined,
      );
    },
  };
}

function builtinProblem(projectRoot: string, chain: string[]): BuildProblem {
  // The chain starts at the virtual entry, which the developer never wrote.
  const files = chain.slice(1);
  const builtin = files[files.length - 1]!;
  const importer = files[files.length - 2]!;
  const workflowFile = files[0]!;
  // Point at the import itself, so an editor jumps to the line to change.
  const site = locateSpecifier(readSource(path.resolve(projectRoot, importer)), builtin);
  return {
    file: importer,
    ...site,
    message:
      `the Node.js built-in "${builtin}" is reachable from workflow code: ${files.join(" → ")}. ` +
      "Workflow code runs in a deterministic sandbox without Node.js APIs. Move the code that needs " +
      `"${builtin}" into a function marked "use step" (steps run with full Node.js access)` +
      (importer !== workflowFile
        ? `, or stop importing ${files[1]} from the workflow code of ${workflowFile}.`
        : "."),
  };
}

function readSource(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}
