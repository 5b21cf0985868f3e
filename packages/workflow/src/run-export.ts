/**
 * A run's log as `wf export` writes it: events, rows and streams exactly as stored (serialized strings), so a
 * replay of the export sees what the run saw. Shared by the CLI and `exportRun()` of `workflow/testing`.
 */
import type { HookRecord, RunRecord, StepRecord, WaitRecord, WorkflowEvent, World } from "@wfkit/core";

/** The shape of an export; `version` changes only when a field changes meaning. */
export interface RunExport {
  format: "wfkit.run-log";
  version: 1;
  exportedAt: string;
  world: string;
  run: RunRecord;
  events: WorkflowEvent[];
  steps: StepRecord[];
  hooks: HookRecord[];
  sleeps: WaitRecord[];
  streams: Record<string, { chunks: string[]; closed: boolean }>;
}

/** Undefined when the world has no such run. */
export async function exportRunLog(
  world: World,
  runId: string,
  opts: { streams?: boolean } = {},
): Promise<RunExport | undefined> {
  const run = await world.getRun(runId);
  if (!run) return undefined;
  const [events, steps, hooks, sleeps] = await Promise.all([
    world.readEvents(runId),
    world.listSteps(runId),
    world.listHooks(runId),
    world.listWaits(runId),
  ]);
  const streams: RunExport["streams"] = {};
  if (opts.streams !== false && world.readStream) {
    const names = world.listStreams ? (await world.listStreams(runId)).map((s) => s.name) : ["default"];
    for (const name of names) {
      const page = await world.readStream(runId, name);
      if (page.chunks.length > 0 || page.closed) {
        streams[name] = { chunks: page.chunks.map((c) => c.data), closed: page.closed };
      }
    }
  }
  return {
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
}
