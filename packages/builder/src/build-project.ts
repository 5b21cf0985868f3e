/**
 * Everything a build produces, in one call: discovery, the workflow bundle, the step bundle and the manifest,
 * written to one folder. The CLI and the bundler plugins call this; they need the pieces only to customise.
 */
import path from "node:path";
import type { CompiledModule } from "./compile-plugin.js";
import { discoverDirectiveFiles } from "./discover.js";
import type { BuildProblem } from "./errors.js";
import { createManifest, type Manifest, writeManifest } from "./manifest.js";
import { buildStepBundle } from "./step-bundle.js";
import { buildWorkflowBundle } from "./workflow-bundle.js";

export interface BuildProjectOptions {
  projectRoot: string;
  /** Where to write `workflows.js`, `steps.mjs` (each with a `.map`) and `manifest.json`; default `.workflow`. */
  outDir?: string;
  include?: string[];
  exclude?: string[];
  minify?: boolean;
  tsconfig?: string;
  conditions?: string[];
  /** For the step bundle; see `StepBundleOptions.external`. */
  external?: boolean | string[];
}

export interface BuildProjectResult {
  /** The directive files that were built. */
  entries: string[];
  workflowBundle: string;
  stepBundle: string;
  manifestFile: string;
  manifest: Manifest;
  /** Every file either bundle read: a change to any of them calls for a rebuild. */
  inputs: string[];
  /** Warnings of both builds (which succeeded). */
  warnings: BuildProblem[];
}

export async function buildProject(options: BuildProjectOptions): Promise<BuildProjectResult> {
  const projectRoot = path.resolve(options.projectRoot);
  const outDir = path.resolve(projectRoot, options.outDir ?? ".workflow");
  // The output folder must never feed back into discovery, wherever it is.
  const outRel = path.relative(projectRoot, outDir).split(path.sep).join("/");
  const entries = await discoverDirectiveFiles({
    projectRoot,
    ...(options.include ? { include: options.include } : {}),
    exclude: [...(options.exclude ?? []), ...(outRel ? [outRel] : [])],
  });
  const shared = {
    projectRoot,
    entries,
    minify: options.minify ?? false,
    tsconfig: options.tsconfig,
    conditions: options.conditions,
  };
  const workflowBundle = path.join(outDir, "workflows.js");
  const stepBundle = path.join(outDir, "steps.mjs");
  const external = options.external ?? true;
  const [workflows, firstSteps] = await Promise.all([
    buildWorkflowBundle({ ...shared, outfile: workflowBundle }),
    buildStepBundle({ ...shared, outfile: stepBundle, external }),
  ]);
  // Workflow code can reach steps the step bundle never imports: a package's steps (`@workflow/ai`'s agent)
  // used only inside a workflow body, which step mode drops. Their files become entries of the step bundle,
  // which is built again (only then, so the common case stays one parallel build).
  const inSteps = new Set(firstSteps.modules.map((m) => m.file));
  const missing = workflows.modules
    .filter((m) => m.steps.length > 0 && !inSteps.has(m.file))
    .map((m) => m.file);
  const steps =
    missing.length === 0
      ? firstSteps
      : await buildStepBundle({
          ...shared,
          entries: [...entries, ...missing],
          outfile: stepBundle,
          external,
        });
  // Both builds compiled the same files; a file reached only by one of them still belongs in the manifest.
  const modules = new Map<string, CompiledModule>();
  for (const mod of [...workflows.modules, ...steps.modules])
    if (!modules.has(mod.file)) modules.set(mod.file, mod);
  const manifest = createManifest({ projectRoot, modules: [...modules.values()] });
  const manifestFile = writeManifest(outDir, manifest);
  const inputs = [...new Set([...workflows.inputs, ...steps.inputs])].sort();
  const warnings = [...workflows.warnings, ...steps.warnings];
  return { entries, workflowBundle, stepBundle, manifestFile, manifest, inputs, warnings };
}
