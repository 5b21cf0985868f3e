/**
 * A `wf build` output folder opened for execution: its `manifest.json` says which workflows and steps the
 * build holds, and `workflows.js` / `steps.mjs` beside it are the code. A worker that runs from it needs no
 * compiler and no module hooks. The manifest is checked up front so a worker started on the wrong folder
 * (or before the build finished) fails at start with the fix, not at its first run.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { createBuiltCodeProvider, type ReloadableCodeProvider } from "../handlers/built-code.js";

/** What a worker reports about the build it runs. */
export interface BuildInfo {
  /** Absolute path of the build folder. */
  dir: string;
  /** Workflow IDs of the manifest, sorted. */
  workflows: string[];
  /** Step IDs of the manifest, sorted. */
  steps: string[];
}

/** The manifest fields this package reads (`@wfkit/builder` writes the full format). */
interface ManifestShape {
  version?: unknown;
  workflows?: unknown;
  steps?: unknown;
}

export function openBuildOutput(dir: string): { info: BuildInfo; codeProvider: ReloadableCodeProvider } {
  const abs = path.resolve(dir);
  const manifestFile = path.join(abs, "manifest.json");
  if (!existsSync(manifestFile)) {
    throw new Error(
      `${manifestFile} does not exist: ${abs} is not a workflow build. Run \`wf build\` in the project ` +
        "(it writes .workflow/ by default), or point the worker at the folder it wrote (--build <dir>).",
    );
  }
  let manifest: ManifestShape;
  try {
    manifest = JSON.parse(readFileSync(manifestFile, "utf8")) as ManifestShape;
  } catch (error) {
    throw new Error(
      `${manifestFile} is not valid JSON (${(error as Error).message}); run \`wf build\` again.`,
    );
  }
  if (manifest.version !== 1 || !isRecord(manifest.workflows) || !isRecord(manifest.steps)) {
    throw new Error(
      `${manifestFile} is not a manifest this runtime understands (expected version 1 with "workflows" and ` +
        `"steps"; found version ${JSON.stringify(manifest.version)}). Rebuild with the same version of ` +
        "workflow that runs the worker.",
    );
  }
  for (const file of ["workflows.js", "steps.mjs"]) {
    if (!existsSync(path.join(abs, file))) {
      throw new Error(
        `${path.join(abs, file)} is missing beside the manifest; the build is incomplete. Run \`wf build\` again.`,
      );
    }
  }
  return {
    info: {
      dir: abs,
      workflows: Object.keys(manifest.workflows).sort(),
      steps: Object.keys(manifest.steps).sort(),
    },
    codeProvider: createBuiltCodeProvider({ dir: abs }),
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
