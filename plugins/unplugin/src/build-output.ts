/**
 * One production build into the output folder: `@wfkit/builder`'s bundles and manifest, plus the generated
 * handlers and entry modules. The bundler plugins and `wf build` both call this.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { type BuildProjectResult, buildProject } from "@wfkit/builder";
import {
  DEV_ENTRY,
  devEntrySource,
  generatedPath,
  HANDLERS,
  handlersSource,
  SERVER_ENTRY,
  serverEntrySource,
} from "./generated.js";
import type { ResolvedOptions } from "./options.js";

export interface WorkflowOutput extends BuildProjectResult {
  outDir: string;
  /** `handlers.mjs`: flow/step/webhook handlers reading the bundles beside them. */
  handlers: string;
  /** `server-entry.mjs`: the module server bundles import (workflow bundle embedded, steps registered). */
  serverEntry: string;
  /** `dev-entry.mjs`: for dev servers, reads the bundles from disk again after each rebuild. */
  devEntry: string;
}

export async function buildWorkflowOutput(options: ResolvedOptions): Promise<WorkflowOutput> {
  const result = await buildProject({
    projectRoot: options.projectRoot,
    outDir: options.outDir,
    ...(options.include ? { include: options.include } : {}),
    ...(options.exclude ? { exclude: options.exclude } : {}),
    ...(options.conditions ? { conditions: options.conditions } : {}),
    ...(options.tsconfig ? { tsconfig: options.tsconfig } : {}),
    minify: options.minify ?? false,
  });
  const outDir = options.outDir;
  const bundle = {
    code: readFileSync(result.workflowBundle, "utf8"),
    map: readFileSync(`${result.workflowBundle}.map`, "utf8"),
  };
  const handlers = generatedPath(outDir, HANDLERS);
  const serverEntry = generatedPath(outDir, SERVER_ENTRY);
  const devEntry = generatedPath(outDir, DEV_ENTRY);
  writeIfChanged(handlers, handlersSource());
  writeIfChanged(serverEntry, serverEntrySource(bundle, result.entries));
  writeIfChanged(devEntry, devEntrySource(outDir));
  return { ...result, outDir, handlers, serverEntry, devEntry };
}

/** Unchanged files keep their mtime, so watchers (Vite, webpack) do not rebuild for nothing. */
function writeIfChanged(file: string, text: string): void {
  try {
    if (readFileSync(file, "utf8") === text) return;
  } catch {
    // not written yet
  }
  writeFileSync(file, text);
}
