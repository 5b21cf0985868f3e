/**
 * `wf export <runId>`: a run's log as JSON, for replay tests and bug reports. Values stay as stored (serialized
 * strings), so replaying the export gives exactly what the run saw; `wf inspect events --withData` shows them
 * decoded.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { exportRunLog } from "../run-export.js";
import type { CliIo } from "./io.js";
import { addWorldOptions, UsageError, type WorldFlags, withWorld } from "./world-options.js";

export type { RunExport } from "../run-export.js";

export function addExportCommand(program: Command, io: CliIo): void {
  addWorldOptions(
    program
      .command("export")
      .description("print a run's log as JSON (events, rows and streams as stored), for replay tests")
      .argument("<runId>")
      .option("-o, --out <file>", "write to this file instead of stdout")
      .option("--no-streams", "leave the run's output streams out"),
  ).action(async (runId: string, flags: WorldFlags & { out?: string; streams: boolean }) =>
    withWorld("export", flags, io, async ({ world }) => {
      const body = await exportRunLog(world, runId, { streams: flags.streams });
      if (!body)
        throw new UsageError(`no run ${runId} in the ${world.name} world. List runs with: wf inspect runs`);
      const text = `${JSON.stringify(body, null, 2)}\n`;
      if (flags.out) {
        const file = path.resolve(io.cwd(), flags.out);
        writeFileSync(file, text);
        io.err(`Wrote ${body.events.length} events of run ${runId} to ${file}\n`);
      } else io.out(text);
    }),
  );
}
