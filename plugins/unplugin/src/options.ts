/** What the bundler plugins and `wf build` accept. */
import path from "node:path";
import { findProjectRoot } from "@wfkit/compiler";

export interface WorkflowPluginOptions {
  /** IDs are relative to it and discovery starts here; default the folder with a package.json at or above the bundler's root (else `process.cwd()`). */
  projectRoot?: string;
  /** Where the build output goes (bundles, handlers, manifest); default `.workflow` in the project root. */
  outDir?: string;
  /** Globs (relative to the project root) that limit discovery of directive files. */
  include?: string[];
  exclude?: string[];
  /** Extra package.json export conditions for the workflow and step bundles (a monorepo: `["source"]`). */
  conditions?: string[];
  tsconfig?: string;
  minify?: boolean;
  /**
   * `"server"`: the bundle runs workflows (directive files get the step shape and the bundle embeds the
   * workflow code). `"browser"`: the client shape only. Default: from the bundler (esbuild `platform`,
   * webpack `target`, Vite's SSR flag; Rollup: server).
   */
  target?: "server" | "browser";
}

export interface ResolvedOptions extends WorkflowPluginOptions {
  projectRoot: string;
  outDir: string;
}

export function resolveOptions(options: WorkflowPluginOptions, root?: string): ResolvedOptions {
  const projectRoot = options.projectRoot
    ? path.resolve(options.projectRoot)
    : findProjectRoot(root ?? process.cwd());
  return { ...options, projectRoot, outDir: path.resolve(projectRoot, options.outDir ?? ".workflow") };
}
