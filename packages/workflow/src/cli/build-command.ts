import path from "node:path";
import { findProjectRoot } from "@wfkit/compiler";
import { buildWorkflowOutput } from "@wfkit/unplugin";
import type { Command } from "commander";
import { changedWorkflows, inFlightWarnings, readPreviousManifest } from "./build-check.js";
import type { CliIo } from "./io.js";
import { addWorldOptions, type WorldFlags } from "./world-options.js";

interface BuildCommandOptions extends WorldFlags {
  projectRoot?: string;
  outDir: string;
  minify?: boolean;
  condition?: string[];
  tsconfig?: string;
  exclude?: string[];
  checkRuns: boolean;
}

/**
 * `wf build`: the production build for any Node server, into `.workflow/`: the sandbox bundle
 * `workflows.js`, the step bundle `steps.mjs` (each with a source map), `handlers.mjs` (flow, step and
 * webhook handlers plus a Node handler, reading the bundles beside it) and `manifest.json`.
 */
export function addBuildCommand(program: Command, io: CliIo): void {
  const command = program
    .command("build")
    .description("build workflows and steps for production into .workflow/ (bundles, handlers, manifest)")
    .option("--project-root <dir>", "the project to build (default: current directory)")
    .option("-o, --out-dir <dir>", "output folder, relative to the project root", ".workflow")
    .option("--minify", "minify both bundles")
    .option("-C, --condition <name...>", "extra package.json export conditions (e.g. source)")
    .option("--tsconfig <file>", "tsconfig for every file (default: the nearest one of each file)")
    .option("--exclude <glob...>", "globs of files that are not searched for directives")
    .option(
      "--no-check-runs",
      "do not look in the world for runs in flight of workflows whose step sequence changed",
    );
  addWorldOptions(command).action(async (options: BuildCommandOptions) => {
    const projectRoot = options.projectRoot
      ? path.resolve(io.cwd(), options.projectRoot)
      : findProjectRoot(io.cwd());
    const outDir = path.resolve(projectRoot, options.outDir);
    const started = performance.now();
    const previous = readPreviousManifest(outDir);
    try {
      const output = await buildWorkflowOutput({
        projectRoot,
        outDir,
        ...(options.minify ? { minify: true } : {}),
        ...(options.condition ? { conditions: options.condition } : {}),
        ...(options.tsconfig ? { tsconfig: options.tsconfig } : {}),
        ...(options.exclude ? { exclude: options.exclude } : {}),
      });
      for (const w of output.warnings)
        io.err(
          `warning: ${w.file ? `${w.file}${w.line ? `:${w.line}:${w.column ?? 0}` : ""}: ` : ""}${w.message}\n`,
        );
      if (options.checkRuns) {
        const changed = changedWorkflows(previous, output.manifest);
        for (const w of await inFlightWarnings(changed, output.manifest, options, io, outDir))
          io.err(`warning: ${w}\n`);
      }
      const workflows = Object.keys(output.manifest.workflows).length;
      const steps = Object.keys(output.manifest.steps).length;
      const rel = path.relative(io.cwd(), outDir) || ".";
      io.out(
        `Built ${workflows} workflow${workflows === 1 ? "" : "s"} and ${steps} step${steps === 1 ? "" : "s"} ` +
          `from ${output.entries.length} file${output.entries.length === 1 ? "" : "s"} into ${rel}/ ` +
          `in ${Math.round(performance.now() - started)} ms:\n` +
          "  workflows.js   the workflow bundle (sandbox)\n" +
          "  steps.mjs      the step bundle\n" +
          "  handlers.mjs   flow/step/webhook handlers: import { nodeHandler, router } from it\n" +
          "  manifest.json  every workflow and step ID with its source location and hash\n",
      );
    } catch (error) {
      io.err(`wf build: ${(error as Error)?.message ?? String(error)}\n`);
      io.exit(1);
    }
  });
}
