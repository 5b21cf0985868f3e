import { existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { type BuildOptions, type BuildResult, build, type Plugin } from "esbuild";
import type { CompiledModule } from "./compile-plugin.js";
import { BuildError, type BuildProblem, describeMessages } from "./errors.js";
import { relativePosix } from "./source-files.js";

/** What both bundle builders return. */
export interface BundleResult {
  /** The bundle; when written to disk it ends with a `sourceMappingURL` comment naming the `.map` file. */
  code: string;
  /** Source map v3 as JSON text; `sources` are relative to the bundle's folder. */
  map: string;
  /** Absolute paths of every file that went into the bundle (watch these to know when to rebuild). */
  inputs: string[];
  /** Every file the compiler found workflows or steps in, for `createManifest`. */
  modules: CompiledModule[];
  /** Compiler and esbuild warnings (the build succeeded); show them to the developer. */
  warnings: BuildProblem[];
}

export const ENTRY_NAMESPACE = "wfkit-entry";
export const ENTRY_PATH = "directive-files";
/** The entry's key in esbuild's metafile. */
export const ENTRY_KEY = `${ENTRY_NAMESPACE}:${ENTRY_PATH}`;

/**
 * A virtual entry that imports every directive file for its side effects (registering workflows or steps),
 * so one esbuild build covers the whole project. Entry imports are marked as having side effects, so a
 * package declaring `"sideEffects": false` cannot have its steps dropped.
 */
export function entryPlugin(projectRoot: string, entries: string[]): Plugin {
  const files = [...new Set(entries.map((e) => path.resolve(projectRoot, e)))];
  const missing = files.filter((f) => !existsSync(f));
  if (missing.length > 0) {
    throw new BuildError(
      "Preparing the bundle",
      missing.map((f) => ({
        file: relativePosix(projectRoot, f),
        message:
          "is listed as an entry but does not exist; run discoverDirectiveFiles() again after files move.",
      })),
    );
  }
  return {
    name: "wfkit-entry",
    setup(b) {
      b.onResolve({ filter: new RegExp(`^${ENTRY_KEY}$`) }, (args) =>
        args.kind === "entry-point" ? { path: ENTRY_PATH, namespace: ENTRY_NAMESPACE } : undefined,
      );
      b.onResolve({ filter: /.*/, namespace: ENTRY_NAMESPACE }, (args) => ({
        path: args.path,
        sideEffects: true,
      }));
      b.onLoad({ filter: /.*/, namespace: ENTRY_NAMESPACE }, () => ({
        contents: files.map((f) => `import ${JSON.stringify(f)};`).join("\n"),
        resolveDir: projectRoot,
        loader: "js",
      }));
    },
  };
}

/** Options every bundle shares; callers add format, platform and plugins. */
export function baseOptions(
  projectRoot: string,
  outfile: string,
  write: boolean,
  minify: boolean,
  tsconfig?: string,
): BuildOptions {
  return {
    entryPoints: [ENTRY_KEY],
    absWorkingDir: projectRoot,
    outfile,
    bundle: true,
    write: false,
    metafile: true,
    minify,
    // A bundle kept in memory must not name a .map file that is never written.
    sourcemap: write ? "linked" : "external",
    sourcesContent: true,
    logLevel: "silent",
    ...(tsconfig ? { tsconfig: path.resolve(projectRoot, tsconfig) } : {}),
  };
}

/** Runs esbuild; its failures become a `BuildError` that lists each message with its location. */
export async function runEsbuild(
  what: string,
  options: BuildOptions,
): Promise<BuildResult & { metafile: NonNullable<BuildResult["metafile"]> }> {
  try {
    const result = await build({ ...options, metafile: true });
    return result as BuildResult & { metafile: NonNullable<BuildResult["metafile"]> };
  } catch (error) {
    const errors = (error as { errors?: import("esbuild").Message[] }).errors;
    if (Array.isArray(errors) && errors.length > 0) throw new BuildError(what, describeMessages(errors));
    throw error;
  }
}

/** Code, map and inputs of a finished build; writes both files when `write` is set. */
export function collectOutput(
  result: BuildResult,
  projectRoot: string,
  outfile: string,
  write: boolean,
  modules: Map<string, CompiledModule>,
): BundleResult {
  const files = result.outputFiles ?? [];
  const js = files.find((f) => f.path === outfile);
  const map = files.find((f) => f.path === `${outfile}.map`);
  if (!js || !map)
    throw new Error(`esbuild produced no output for ${outfile}; this is a bug in @wfkit/builder.`);
  if (write) {
    mkdirSync(path.dirname(outfile), { recursive: true });
    writeAtomically(`${outfile}.map`, map.text);
    writeAtomically(outfile, js.text);
  }
  const inputs = Object.keys(result.metafile?.inputs ?? {})
    .filter((key) => !key.startsWith(`${ENTRY_NAMESPACE}:`))
    .map((key) => path.resolve(projectRoot, key));
  const compiled = [...modules.values()].sort((a, b) => a.file.localeCompare(b.file));
  return {
    code: js.text,
    map: map.text,
    inputs,
    modules: compiled,
    warnings: describeMessages(result.warnings),
  };
}

/** Write then rename, so a process loading the bundle (a dev server) never reads half a file. */
export function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}
