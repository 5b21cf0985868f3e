import type { Command } from "commander";
import type { CliIo } from "./io.js";

/**
 * `wf worker [--sweep ms]`: a dedicated worker that executes the runs any process starts on the world this
 * process opens (`WORKFLOW_TARGET_WORLD`, e.g. Postgres shared by many machines). Workflow and step code is
 * loaded from the project's sources through the `workflow/register` hooks; start it from the project folder.
 */
export function addWorkerCommand(program: Command, io: CliIo): void {
  program
    .command("worker")
    .description("execute workflow runs started by any process that shares this world")
    .option("--sweep <ms>", "how often to look for runs that no notification announced", "2000")
    .action(async (options: { sweep: string }) => {
      const sweepIntervalMs = Number(options.sweep);
      if (!Number.isFinite(sweepIntervalMs) || sweepIntervalMs <= 0) {
        io.err(`wf worker: --sweep must be a positive number of milliseconds, got "${options.sweep}"\n`);
        io.exit(1);
        return;
      }
      // The hooks and the source code provider, exactly as `node --import workflow/register` installs them.
      await import("@wfkit/node/register");
      const { startWorker } = await import("@wfkit/core");
      const worker = await startWorker({ sweepIntervalMs });
      const world = await worker.engine.world();
      io.out(`WORKER ${process.pid} ready: executing runs on the ${world.name} world\n`);
    });
}
