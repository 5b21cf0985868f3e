/**
 * `setupWorkflowTests()` / `teardownWorkflowTests()`: an in-process runtime for the tests of one file. Each setup
 * opens a fresh local world (its folder is emptied first) and gives the runtime the project's workflow code,
 * compiled from source on demand: no build step. Step implementations are the modules the tests import (compiled
 * by the `workflow()` plugin), so `vi.mock()` of what steps use applies to runs too.
 */
import { readFileSync, rmSync } from "node:fs";
import { register } from "node:module";
import path from "node:path";
import { discoverDirectiveFiles } from "@wfkit/builder";
import { type CodeProvider, configureRuntime, getEngine, type World, worldFromEnv } from "@wfkit/core";
import { createSourceCodeProvider, findProjectRoot, WorkflowBundler } from "@wfkit/node";
import { restoreStepMocks } from "../testing/mock-step.js";
import { useRealTime } from "../testing/virtual-time.js";

export interface WorkflowTestOptions {
  /** The project's folder (where its workflows live, and what workflow IDs are relative to). Default: cwd. */
  cwd?: string;
  /** Where test artifacts go by default (`dataDir`, `outDir`); relative to `cwd`. Default: `cwd`. */
  rootDir?: string;
  /**
   * Where the test worlds keep their data; relative to `cwd`. Default `<rootDir>/.workflow-data`. Each Vitest
   * worker uses its own `vitest-<n>` folder in it, emptied when a test file starts and left for inspection
   * (`wf inspect runs --data-dir <dataDir>/vitest-<n>`).
   */
  dataDir?: string;
  /** Cache of compiled workflow bundles; relative to `cwd`. Default `<rootDir>/.workflow-vitest`. */
  outDir?: string;
}

/** How the `workflow()` plugin hands its options to the setup file in each worker. */
export const OPTIONS_ENV = "WORKFLOW_VITEST_OPTIONS";

interface Current {
  world: World;
  dataDir: string;
}

let current: Current | undefined;
let hooksRegistered = false;

export function resolveTestOptions(options: WorkflowTestOptions = {}): Required<WorkflowTestOptions> {
  let fromEnv: WorkflowTestOptions = {};
  const raw = process.env[OPTIONS_ENV];
  if (raw) {
    try {
      fromEnv = JSON.parse(raw) as WorkflowTestOptions;
    } catch {
      throw new Error(`${OPTIONS_ENV} is not valid JSON: ${raw}`);
    }
  }
  const merged = { ...fromEnv, ...options };
  const cwd = path.resolve(merged.cwd ?? findProjectRoot());
  const rootDir = path.resolve(cwd, merged.rootDir ?? ".");
  return {
    cwd,
    rootDir,
    dataDir: merged.dataDir ? path.resolve(cwd, merged.dataDir) : path.join(rootDir, ".workflow-data"),
    outDir: merged.outDir ? path.resolve(cwd, merged.outDir) : path.join(rootDir, ".workflow-vitest"),
  };
}

/** The data folder of this worker's test world. */
function workerDataDir(dataDir: string): string {
  return path.join(
    dataDir,
    `vitest-${process.env.VITEST_POOL_ID ?? process.env.VITEST_WORKER_ID ?? process.pid}`,
  );
}

/**
 * Opens a fresh local world (clearing what an earlier test file of this worker left) and configures the runtime
 * with it and the project's workflow code. Run once per test file (the `workflow()` plugin does it in `beforeAll`).
 */
export async function setupWorkflowTests(options: WorkflowTestOptions = {}): Promise<void> {
  if (current) await teardownWorkflowTests();
  const resolved = resolveTestOptions(options);
  const dataDir = workerDataDir(resolved.dataDir);
  rmSync(dataDir, { recursive: true, force: true });
  const world = await worldFromEnv({
    ...process.env,
    WORKFLOW_TARGET_WORLD: "local",
    WORKFLOW_LOCAL_DATA_DIR: dataDir,
  });
  configureRuntime({
    world,
    codeProvider: testCodeProvider(resolved.cwd, resolved.outDir),
    executeRuns: true,
  });
  current = { world, dataDir };
}

/** Stops the test runtime and closes its world; mocks and virtual time are undone. */
export async function teardownWorkflowTests(): Promise<void> {
  restoreStepMocks();
  useRealTime();
  const closing = current;
  current = undefined;
  if (!closing) return;
  getEngine().close();
  configureRuntime({ world: undefined, codeProvider: undefined });
  await closing.world.close();
}

/**
 * Workflow bundles are built from source (cached in `outDir`); a step is found in the registry the test's own
 * imports filled, and otherwise its file is imported in step mode: through Vite when this module runs inside
 * Vitest's module graph, else through Node's module hooks (registered on first need).
 */
function testCodeProvider(projectRoot: string, cacheDir: string): CodeProvider {
  const source = createSourceCodeProvider(projectRoot, { cacheDir });
  return {
    getWorkflowBundle: (workflowId) => source.getWorkflowBundle(workflowId),
    async loadStep(stepId) {
      const registry = (globalThis as Record<symbol, Map<string, unknown> | undefined>)[
        Symbol.for("wfkit.steps")
      ];
      if (registry?.has(stepId)) return;
      if (!hooksRegistered) {
        hooksRegistered = true;
        register("@wfkit/node/hooks", { parentURL: import.meta.url, data: { projectRoot } });
      }
      await source.loadStep(stepId);
    },
  };
}

/**
 * Optional (WDK's name; the plugin does not need it): compiles the sandbox bundle of every workflow file of the
 * project into the `outDir` cache ahead of the tests, so that the first run of each workflow starts at once and a
 * compile error fails here, once, rather than in every test that starts the workflow. Use it in a Vitest
 * `globalSetup`. Resolves with the files it compiled.
 */
export async function buildWorkflowTests(options: WorkflowTestOptions = {}): Promise<string[]> {
  const resolved = resolveTestOptions(options);
  const bundler = new WorkflowBundler(resolved.cwd, resolved.outDir);
  const files = await discoverDirectiveFiles({ projectRoot: resolved.cwd, dependencies: false });
  const workflowFiles = files.filter((file) => readFileSync(file, "utf8").includes("use workflow"));
  for (const file of workflowFiles) await bundler.bundle(file);
  return workflowFiles;
}
