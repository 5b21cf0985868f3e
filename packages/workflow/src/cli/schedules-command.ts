/**
 * `wf schedules ls|pause|resume|trigger|delete` and `wf emit`: schedules and events from the command line. Like the
 * other steering commands they record what they ask for in the world; the processes that execute runs do the rest.
 */
import {
  deleteSchedule,
  emit,
  listSchedules,
  pauseSchedule,
  resumeSchedule,
  type ScheduleInfo,
  triggerSchedule,
} from "@wfkit/core";
import type { Command } from "commander";
import { displayName, json, relativeTime, table } from "./format.js";
import type { CliIo } from "./io.js";
import { addWorldOptions, UsageError, type WorldFlags, withWorld } from "./world-options.js";

interface Flags extends WorldFlags {
  json?: boolean;
}

const EXECUTED_ELSEWHERE =
  "A process that executes runs on this world (the app, or `wf worker`) takes it up; follow it with: wf inspect run";

function scheduleRows(schedules: ScheduleInfo[], now: number): string[][] {
  return schedules.map((s) => [
    s.name,
    displayName(s.workflowName),
    s.cron,
    s.timezone ?? "UTC",
    s.paused ? "paused" : "active",
    `${s.overlap}/${s.catchUp}`,
    relativeTime(s.lastTick, now),
    s.nextTick ? s.nextTick.toISOString() : "-",
    s.lastRunId ?? "-",
  ]);
}

export function addSchedulesCommands(program: Command, io: CliIo): void {
  const schedules = program
    .command("schedules")
    .description("list, pause, resume, trigger or delete schedules (created in code with schedule())");

  addWorldOptions(
    schedules.command("ls").description("every schedule with its state, last and next tick").option("--json"),
  ).action(async (flags: Flags) =>
    withWorld("schedules ls", flags, io, async ({ engine }) => {
      const all = await listSchedules({ engine });
      if (flags.json) return io.out(json(all));
      if (all.length === 0)
        return io.out("No schedules. schedule(name, workflow, { cron }) in your app creates one.\n");
      io.out(
        table(
          [
            "NAME",
            "WORKFLOW",
            "CRON",
            "TIME ZONE",
            "STATE",
            "OVERLAP/CATCH-UP",
            "LAST TICK",
            "NEXT TICK",
            "LAST RUN",
          ],
          scheduleRows(all, Date.now()),
        ),
      );
    }),
  );

  for (const [verb, description] of [
    ["pause", "stop the schedule's ticks (runs already started go on)"],
    ["resume", "resume a paused schedule from now on (ticks missed while paused do not run)"],
  ] as const) {
    addWorldOptions(
      schedules.command(verb).description(description).argument("<name>").option("--json"),
    ).action(async (name: string, flags: Flags) =>
      withWorld(`schedules ${verb}`, flags, io, async ({ engine }) => {
        const info = await (verb === "pause" ? pauseSchedule : resumeSchedule)(name, { engine });
        if (flags.json) return io.out(json(info));
        io.out(`Schedule ${name} ${verb === "pause" ? "paused" : "resumed"}.\n`);
      }),
    );
  }

  addWorldOptions(
    schedules
      .command("trigger")
      .description("start a run of the schedule's workflow now, outside its ticks")
      .argument("<name>")
      .option("--json"),
  ).action(async (name: string, flags: Flags) =>
    withWorld(
      "schedules trigger",
      flags,
      io,
      async ({ engine }) => {
        const run = await triggerSchedule(name, { engine });
        if (flags.json) return io.out(json({ runId: run.runId }));
        io.out(`Started run ${run.runId} of schedule ${name}.\n${EXECUTED_ELSEWHERE} ${run.runId}\n`);
      },
      { create: true },
    ),
  );

  addWorldOptions(
    schedules.command("delete").description("remove the schedule (its runs stay)").argument("<name>"),
  ).action(async (name: string, flags: Flags) =>
    withWorld("schedules delete", flags, io, async ({ engine }) => {
      if (!(await deleteSchedule(name, { engine }))) {
        throw new UsageError(`no schedule is named "${name}"; wf schedules ls lists them.`);
      }
      io.out(
        `Schedule ${name} deleted. An app that calls schedule("${name}", …) on start creates it again.\n`,
      );
    }),
  );

  addWorldOptions(
    program
      .command("emit")
      .description(
        "emit an event: waiting runs receive it, workflows registered with trigger() start with it",
      )
      .argument("<name>", "the event name")
      .argument("[dataJson]", 'the event\'s data as JSON, e.g. \'{"orderId":"o-1"}\'', "null")
      .option("--key <key>", "only runs waiting for this key (and those waiting without a key)")
      .option("--id <id>", "the event ID: emitting the same ID again delivers and starts nothing twice")
      .option("--json", "print { eventId, delivered, started } as JSON"),
  ).action(async (name: string, dataJson: string, flags: Flags & { key?: string; id?: string }) =>
    withWorld(
      "emit",
      flags,
      io,
      async ({ engine }) => {
        let data: unknown;
        try {
          data = JSON.parse(dataJson);
        } catch (error) {
          throw new UsageError(
            `dataJson must be JSON (${(error as Error).message}); quote it for the shell, e.g. '{"orderId":"o-1"}'.`,
          );
        }
        const result = await emit(name, data, {
          engine,
          ...(flags.key !== undefined ? { key: flags.key } : {}),
          ...(flags.id !== undefined ? { id: flags.id } : {}),
        });
        if (flags.json) return io.out(json(result));
        io.out(
          `Emitted ${name} (${result.eventId}): delivered to ${result.delivered.length} waiting run(s), started ` +
            `${result.started.length} run(s)${result.started.length ? `: ${result.started.join(", ")}` : ""}.\n`,
        );
      },
      { create: true },
    ),
  );
}
