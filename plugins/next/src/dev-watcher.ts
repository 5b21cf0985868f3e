/**
 * `next dev`: rebuilds `.workflow/` when a file that went into the last build changes, or when a new file
 * with a directive appears. Next's own watcher only knows the files its bundler compiled, and the step and
 * workflow bundles are not among them, so this watches the project with chokidar.
 *
 * While a rebuild runs, `nextRuntimeState().rebuilding` holds it: the runtime's code provider waits for it,
 * so a run started right after a save uses the new code.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { RebuildQueue } from "@wfkit/builder";
import { mayContainDirective } from "@wfkit/compiler";
import { watch } from "chokidar";
import { nextRuntimeState } from "./next-runtime.js";

export interface RebuildWatchOptions {
  projectRoot: string;
  outDir: string;
  /** The files the first build read (absolute). */
  inputs: string[];
  build(): Promise<{ inputs: string[] }>;
}

const SKIP_DIRS = new Set(["node_modules", ".git", ".next", ".turbo", ".workflow-data", ".workflow"]);
const SCRIPT = /\.[cm]?[jt]sx?$/;

export interface RebuildWatcher {
  /** Resolves once the initial scan is done: edits before it may go unnoticed. */
  ready: Promise<void>;
  close(): Promise<void>;
}

export function watchForRebuilds(options: RebuildWatchOptions): RebuildWatcher {
  const state = nextRuntimeState();
  let inputs = new Set(options.inputs);
  const rebuilds = new RebuildQueue(options.build, {
    built: (result) => {
      inputs = new Set(result.inputs);
      console.log("[workflow] rebuilt .workflow/");
    },
    failed: (error) => console.error(`[workflow] ${(error as Error)?.message ?? error}`),
  });
  const rebuild = () => {
    rebuilds.request();
    state.rebuilding = rebuilds.settled();
  };
  const ignored = (file: string) => {
    const rel = path.relative(options.projectRoot, file);
    if (rel.startsWith("..") || path.isAbsolute(rel)) return false;
    if (isInside(options.outDir, file)) return true;
    return rel.split(path.sep).some((part) => SKIP_DIRS.has(part) || part === ".well-known");
  };
  const onFile = (file: string) => {
    const abs = path.resolve(options.projectRoot, file);
    // A file that is not an input yet joins the build when it gains a directive (or a typo of one).
    if (inputs.has(abs) || mentionsDirective(abs)) rebuild();
  };
  // Inputs outside the project (a workspace package) are watched one by one.
  const outside = options.inputs.filter(
    (f) => !isInside(options.projectRoot, f) && !f.includes("node_modules"),
  );
  const watcher = watch([options.projectRoot, ...outside], { ignored, ignoreInitial: true });
  watcher.on("change", (file) => onFile(file));
  watcher.on("add", (file) => onFile(file));
  watcher.on("unlink", (file) => onFile(file));
  watcher.on("error", (error) => console.error("[workflow] file watcher:", error));
  const ready = new Promise<void>((resolve) => watcher.once("ready", () => resolve()));
  return { ready, close: () => watcher.close() };
}

function isInside(dir: string, file: string): boolean {
  const rel = path.relative(dir, file);
  return !rel.startsWith("..") && !path.isAbsolute(rel);
}

function mentionsDirective(file: string): boolean {
  if (!SCRIPT.test(file) || file.endsWith(".d.ts")) return false;
  try {
    const text = readFileSync(file, "utf8");
    return mayContainDirective(text);
  } catch {
    return false;
  }
}
