import { existsSync } from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import type { CliIo } from "./io.js";

const DEFAULT_BUILD_DIR = ".workflow";

/**
 * `wf worker [--build [dir]] [--sweep ms]`: a dedicated worker that executes the runs any process starts on
 * the world this process opens (`WORKFLOW_TARGET_WORLD`, e.g. Postgres shared by many machines).
 *
 * Where its code comes from is explicit: with `--build` it runs the `wf build` output (manifest.json,
 * workflows.js, steps.mjs) and loads no compiler and no module hooks, which is what a deployed worker should
 * do; without it, workflow and step code is compiled from the project's sources through the
 * `workflow/register` hooks (start it from the project folder), which suits development. A build folder is
 * never picked up silently, because a stale build would then run instead of the sources being edited.
 */
export function addWorkerCommand(program: Command, io: CliIo): void {
  program
    .command("worker")
    .description("execute workflow runs started by any process that shares this world")
    .option(
      "--build [dir]",
      `run the \`wf build\` output in <dir> (default ${DEFAULT_BUILD_DIR}) instead of compiling the sources`,
    )
    .option("--sweep <ms>", "how often to look for runs that no notification announced", "2000")
    .addHelpText(
      "after",
      "\nWithout --build the worker compiles workflow and step code from the project's sources through the\n" +
        "workflow/register hooks (start it from the project folder). With --build it loads the bundles that\n" +
        "`wf build` wrote and checks their manifest.json at start; rebuild and restart workers to deploy.\n",
    )
    .action(async (options: { sweep: string; build?: string | true }) => {
      const sweepIntervalMs = Number(options.sweep);
      if (!Number.isFinite(sweepIntervalMs) || sweepIntervalMs <= 0) {
        io.err(`wf worker: --sweep must be a positive number of milliseconds, got "${options.sweep}"\n`);
        io.exit(1);
        return;
      }
      const build =
        options.build === undefined
          ? undefined
          : path.resolve(io.cwd(), options.build === true ? DEFAULT_BUILD_DIR : options.build);
      if (build === undefined) {
        if (existsSync(path.join(io.cwd(), DEFAULT_BUILD_DIR, "manifest.json"))) {
          io.err(
            `wf worker: note: ${DEFAULT_BUILD_DIR}/ holds a build; this worker compiles the sources instead ` +
              "(pass --build to run the build).\n",
          );
        }
        // The hooks and the source code provider, exactly as `node --import workflow/register` installs them.
        await import("@wfkit/node/register");
      }
      const { startWorker } = await import("@wfkit/core");
      let worker: Awaited<ReturnType<typeof startWorker>>;
      try {
        worker = await startWorker(build === undefined ? { sweepIntervalMs } : { sweepIntervalMs, build });
      } catch (error) {
        io.err(`wf worker: ${(error as Error)?.message ?? String(error)}\n`);
        io.exit(1);
        return;
      }
      const world = await worker.engine.world();
      const from = worker.build
        ? ` from the build in ${path.relative(io.cwd(), worker.build.dir) || "."} ` +
          `(${plural(worker.build.workflows.length, "workflow")}, ${plural(worker.build.steps.length, "step")})`
        : "";
      io.out(`WORKER ${process.pid} ready: executing runs on the ${world.name} world${from}\n`);
    });
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
