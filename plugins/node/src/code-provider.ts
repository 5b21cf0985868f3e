/**
 * The engine asks for code by ID; this answers from the project's source files: the workflow bundle is
 * built on demand (cached), and a file's steps are registered by importing it in step mode through the
 * module hooks (`?wfkit=step`).
 */
import { pathToFileURL } from "node:url";
import type { CodeProvider } from "@wfkit/core";
import { STEP_QUERY } from "./hooks.js";
import { parseId, resolveModuleFile } from "./project.js";
import { WorkflowBundler } from "./workflow-bundle.js";

const STEPS_KEY = Symbol.for("wfkit.steps");

export function createSourceCodeProvider(
  projectRoot: string,
  opts: { cacheDir?: string } = {},
): CodeProvider {
  const bundler = new WorkflowBundler(projectRoot, opts.cacheDir);
  const stepModules = new Map<string, Promise<unknown>>();
  return {
    async getWorkflowBundle(workflowId) {
      const { modulePath } = parseId(workflowId);
      return bundler.bundle(resolveModuleFile(projectRoot, modulePath));
    },
    async loadStep(stepId) {
      const registry = (globalThis as Record<symbol, Map<string, unknown> | undefined>)[STEPS_KEY];
      if (registry?.has(stepId)) return;
      const file = resolveModuleFile(projectRoot, parseId(stepId).modulePath);
      let loading = stepModules.get(file);
      if (!loading) {
        loading = import(`${pathToFileURL(file).href}?${STEP_QUERY}`);
        stepModules.set(file, loading);
      }
      await loading;
    },
  };
}
