/**
 * `wf export <runId>`: a run's log as JSON, for replay tests and bug reports. Values stay as stored (serialized
 * strings), so replaying the export gives exactly what the run saw; `wf inspect events --withData` shows them
 * decoded.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import type { CliIo } from "./io.js";
import { addWorldOptions, UsageError, type WorldFlags, withWorld } from "./world-options.js";

/** The shape of an export; `version` changes only when a field changes meaning. */
export interface RunExport {
  format: "wfkit.run-log";
  version: 1;
  exportedAt: string;
  world: string;
  run: unknown;
  events: unknown[];
  steps: unknown[];
  hooks: unknown[];
  sleeps: unknown[];
  streams: Record<string, { chunks: string[]; closed: boolean }>;
}

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
      const run = await world.getRun(runId);
      if (!run)
        throw new UsageError(`no run ${runId} in the ${world.name} world. List runs with: wf inspect runs`);
      const [events, steps, hooks, sleeps] = await Promise.all([
        world.readEvents(runId),
        world.listSteps(runId),
        world.listHooks(runId),
        world.listWaits(runId),
      ]);
      const streams: RunExport["streams"] = {};
      if (flags.streams && world.readStream) {
        const names = world.listStreams ? (await world.listStreams(runId)).map((s) => s.name) : ["default"];
        for (const name of names) {
          const page = await world.readStream(runId, name);
          if (page.chunks.length > 0 || page.closed) {
            streams[name] = { chunks: page.chunks.map((c) => c.data), closed: page.closed };
          }
        }
      }
      const body: RunExport = {
        format: "wfkit.run-log",
        version: 1,
        exportedAt: new Date().toISOString(),
        world: world.name,
        run,
        events,
        steps,
        hooks,
        sleeps,
        streams,
      };
      const text = `${JSON.stringify(body, null, 2)}\n`;
      if (flags.out) {
        const file = path.resolve(io.cwd(), flags.out);
        writeFileSync(file, text);
        io.err(`Wrote ${events.length} events of run ${runId} to ${file}\n`);
      } else io.out(text);
    }),
  );
}
