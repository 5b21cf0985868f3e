/**
 * Code providers for built apps. `createBuiltCodeProvider` answers from a `.workflow/` folder written by
 * `wf build` or a bundler plugin: the workflow bundle `workflows.js` (+ `.map`) for the sandbox, and the step
 * bundle `steps.mjs`, which registers every step in `globalThis[Symbol.for("wfkit.steps")]` when imported.
 * `createEmbeddedCodeProvider` answers from a workflow bundle compiled into the app's own bundle, whose
 * steps the app bundle registers itself.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { CodeProvider, WorkflowBundle } from "../engine/code-provider.js";

const STEPS_KEY = Symbol.for("wfkit.steps");

export interface BuiltCodeProviderOptions {
  /** The build output folder holding `workflows.js` and `steps.mjs`; default `.workflow` in the cwd. */
  dir?: string;
  /**
   * Re-read the bundles when their files change (checked on each new run: one `stat` per file). For dev
   * servers that rebuild in place; production builds never change, so the default is false.
   */
  watch?: boolean;
}

export interface ReloadableCodeProvider extends CodeProvider {
  /** Forget loaded code: the next run reads the bundles again (and re-imports the step bundle). */
  reload(): void;
}

export function createBuiltCodeProvider(options: BuiltCodeProviderOptions = {}): ReloadableCodeProvider {
  const dir = path.resolve(options.dir ?? ".workflow");
  const workflowFile = path.join(dir, "workflows.js");
  const stepFile = path.join(dir, "steps.mjs");
  let bundle: (WorkflowBundle & { version: string }) | undefined;
  let steps: { version: string; loading: Promise<unknown> } | undefined;
  let generation = 0;

  const versionOf = (file: string): string => {
    const st = statSync(file, { throwIfNoEntry: false });
    if (!st) throw missingBuild(dir, file);
    return `${st.mtimeMs}-${st.size}`;
  };
  return {
    async getWorkflowBundle() {
      const version = versionOf(workflowFile);
      if (!bundle || (options.watch && bundle.version !== version)) {
        const mapFile = `${workflowFile}.map`;
        bundle = {
          version,
          code: readFileSync(workflowFile, "utf8"),
          filename: workflowFile,
          ...(existsSync(mapFile) ? { sourceMap: readFileSync(mapFile, "utf8") } : {}),
        };
      }
      return bundle;
    },
    async loadStep(stepId) {
      const version = versionOf(stepFile);
      const stale = steps && options.watch && steps.version !== version;
      const registered = (globalThis as Record<symbol, Map<string, unknown> | undefined>)[STEPS_KEY];
      if (steps && !stale && registered?.has(stepId)) return;
      if (!steps || stale) {
        // ES modules are cached by URL: a new query string is the only way to evaluate a rebuilt file again.
        const url = `${pathToFileURL(stepFile).href}?v=${version}-${generation}`;
        steps = { version, loading: import(url) };
      }
      await steps.loading;
    },
    reload() {
      generation++;
      bundle = undefined;
      steps = undefined;
    },
  };
}

/** For an app bundle that embeds the workflow bundle and registers its steps itself (the bundler plugins). */
export function createEmbeddedCodeProvider(bundle: WorkflowBundle): CodeProvider {
  return {
    async getWorkflowBundle() {
      return bundle;
    },
    async loadStep() {
      // The app bundle imported every directive file at start-up, which registered every step.
    },
  };
}

function missingBuild(dir: string, file: string): Error {
  return new Error(
    `The workflow build output ${path.relative(process.cwd(), file) || file} does not exist. Run \`wf build\` ` +
      `(or your bundler with the workflow plugin) so that ${dir} holds workflows.js and steps.mjs.`,
  );
}
