import path from "node:path";
import { writeVercelDeployment } from "@wfkit/builder";
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
  target: string;
  maxDuration?: string;
  heartbeat?: string;
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
      "--target <target>",
      'what to build for: "node" (.workflow/) or "vercel" (.vercel/output/)',
      "node",
    )
    .option("--max-duration <seconds>", "with --target vercel: the functions' maxDuration (default 300)")
    .option(
      "--heartbeat <cron>",
      'with --target vercel: the cron job calling the tick function (schedules, flow gates); "off" for none',
      "* * * * *",
    )
    .option(
      "--no-check-runs",
      "do not look in the world for runs in flight of workflows whose step sequence changed",
    );
  addWorldOptions(command).action(async (options: BuildCommandOptions) => {
    const projectRoot = options.projectRoot
      ? path.resolve(io.cwd(), options.projectRoot)
      : findProjectRoot(io.cwd());
    if (options.target === "vercel") {
      await buildForVercel(projectRoot, options, io);
      return;
    }
    if (options.target !== "node") {
      io.err(`wf build: --target must be "node" or "vercel", got "${options.target}"\n`);
      io.exit(1);
      return;
    }
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

/** `wf build --target vercel`: Vercel's Build Output API v3 in `.vercel/output/` (see `@wfkit/builder`). */
async function buildForVercel(projectRoot: string, options: BuildCommandOptions, io: CliIo): Promise<void> {
  const started = performance.now();
  const maxDuration = options.maxDuration === undefined ? undefined : Number(options.maxDuration);
  try {
    if (maxDuration !== undefined && !(Number.isInteger(maxDuration) && maxDuration >= 1)) {
      throw new Error(`--max-duration must be a whole number of seconds ≥ 1, got "${options.maxDuration}"`);
    }
    const result = await writeVercelDeployment({
      projectRoot,
      ...(maxDuration !== undefined ? { maxDuration } : {}),
      ...(options.heartbeat !== undefined
        ? { heartbeat: options.heartbeat === "off" ? false : options.heartbeat }
        : {}),
      ...(options.minify ? { minify: true } : {}),
      ...(options.condition ? { conditions: options.condition } : {}),
      ...(options.tsconfig ? { tsconfig: options.tsconfig } : {}),
      ...(options.exclude ? { exclude: options.exclude } : {}),
    });
    const workflows = Object.keys(result.build.manifest.workflows).length;
    const steps = Object.keys(result.build.manifest.steps).length;
    const rel = path.relative(io.cwd(), result.outputDir) || ".";
    io.out(
      `Built ${workflows} workflow${workflows === 1 ? "" : "s"} and ${steps} step${steps === 1 ? "" : "s"} for ` +
        `Vercel into ${rel}/ in ${Math.round(performance.now() - started)} ms:\n` +
        "  config.json                                     Build Output API v3, routes /.well-known/workflow/v1/*, crons\n" +
        result.functions.map((f) => `  ${f}\n`).join(""),
    );
  } catch (error) {
    io.err(`wf build: ${(error as Error)?.message ?? String(error)}\n`);
    io.exit(1);
  }
}
