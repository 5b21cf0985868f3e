/**
 * The build side of `withWorkflow`, loaded only while Next builds or serves in dev (never by `next start`
 * or the generated routes, which need none of esbuild, swc or chokidar): writes `.workflow/` through
 * `@wfkit/builder` and the generated App Router routes, and in `next dev` rebuilds on change.
 */
import {
  type BuildProblem,
  type BuildProjectResult,
  buildProject,
  writeVercelDeployment,
} from "@wfkit/builder";
import { watchForRebuilds } from "./dev-watcher.js";
import { type NextRuntimeOptions, nextRuntimeState } from "./next-runtime.js";
import { findAppDir, writeRoutes } from "./routes.js";

export interface WorkflowBuildOptions {
  projectRoot: string;
  /** Absolute. */
  outDir: string;
  include?: string[];
  exclude?: string[];
  conditions?: string[];
  tsconfig?: string;
  runtime: NextRuntimeOptions;
  vercel?: boolean | { maxDuration?: number; heartbeat?: string | false };
}

/**
 * `next build` loads the config in its own process and again in worker processes; they inherit the
 * environment, so this marks the one build that every process of the command shares.
 */
const BUILT_ENV = "WORKFLOW_NEXT_BUILT";

export async function prepareBuild(options: WorkflowBuildOptions): Promise<void> {
  if (process.env[BUILT_ENV] === options.outDir) return;
  writeRoutes(findAppDir(options.projectRoot), options.runtime);
  await buildOnce(options);
  const vercel = options.vercel ?? process.env.VERCEL === "1";
  if (vercel) {
    // The flow and tick functions: the Next app serves the other /.well-known/workflow/v1/* paths itself (the
    // routes written above).
    await writeVercelDeployment({
      projectRoot: options.projectRoot,
      endpoints: false,
      ...(typeof vercel === "object" && vercel.maxDuration !== undefined
        ? { maxDuration: vercel.maxDuration }
        : {}),
      ...(typeof vercel === "object" && vercel.heartbeat !== undefined
        ? { heartbeat: vercel.heartbeat }
        : {}),
      ...(options.include ? { include: options.include } : {}),
      ...(options.exclude ? { exclude: options.exclude } : {}),
      ...(options.conditions ? { conditions: options.conditions } : {}),
      ...(options.tsconfig ? { tsconfig: options.tsconfig } : {}),
    });
  }
  process.env[BUILT_ENV] = options.outDir;
}

/** `next dev`: build, then rebuild when a file that went into the build (or a new directive file) changes. */
export async function prepareDev(options: WorkflowBuildOptions): Promise<void> {
  // Next may load the config more than once in the dev server's process; one watcher is enough.
  const state = nextRuntimeState();
  if (state.watching === options.outDir) return;
  state.watching = options.outDir;
  writeRoutes(findAppDir(options.projectRoot), options.runtime);
  let first: BuildProjectResult | undefined;
  try {
    first = await buildOnce(options);
  } catch (error) {
    // The dev server keeps running so the user can fix the file; the watcher retries on the next save.
    console.error(`[workflow] ${(error as Error).message}`);
  }
  watchForRebuilds({
    projectRoot: options.projectRoot,
    outDir: options.outDir,
    inputs: first?.inputs ?? [],
    build: () => buildOnce(options),
  });
}

async function buildOnce(options: WorkflowBuildOptions): Promise<BuildProjectResult> {
  const result = await buildProject({
    projectRoot: options.projectRoot,
    outDir: options.outDir,
    ...(options.include ? { include: options.include } : {}),
    ...(options.exclude ? { exclude: options.exclude } : {}),
    ...(options.conditions ? { conditions: options.conditions } : {}),
    ...(options.tsconfig ? { tsconfig: options.tsconfig } : {}),
  }).catch((error: unknown) => {
    throw new Error(`workflow build failed: ${(error as Error)?.message ?? String(error)}`, { cause: error });
  });
  for (const warning of result.warnings) console.warn(`[workflow] ${describe(warning)}`);
  return result;
}

function describe(problem: BuildProblem): string {
  if (!problem.file) return problem.message;
  return `${problem.file}${problem.line ? `:${problem.line}:${problem.column ?? 0}` : ""}: ${problem.message}`;
}
