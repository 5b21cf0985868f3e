/**
 * `node --import workflow/register app.ts`: runs workflows from a plain Node program with no bundler and
 * no build step. Installs the module hooks, points the runtime at the project's sources, and resumes runs
 * that an earlier process left sleeping or interrupted.
 */
import { register } from "node:module";
import { configureRuntime, resumePendingRuns } from "@wfkit/core";
import { createSourceCodeProvider } from "./code-provider.js";
import { findProjectRoot } from "./project.js";

const projectRoot = findProjectRoot();
process.setSourceMapsEnabled(true);
register("./hooks.js", { parentURL: import.meta.url, data: { projectRoot } });
configureRuntime({ codeProvider: createSourceCodeProvider(projectRoot) });

if (process.env.WORKFLOW_RESUME_ON_START !== "0" && process.env.WORKFLOW_EXECUTE_RUNS !== "0") {
  resumePendingRuns().catch((error: unknown) => {
    console.error("[workflow] could not resume pending runs:", error);
  });
}
