/**
 * Steering runs from the command line: `wf start`, `wf cancel` (one run or in bulk), `wf retry`, `wf fork`,
 * `wf rewind`, `wf pause`, `wf resume`, `wf resume-hook`. Each records what it asks for in the world (the CLI executes nothing): the app's
 * processes and workers that execute runs carry it out (see world-options.ts).
 */
import { findProjectRoot } from "@wfkit/compiler";
import { Run, type RunStatus, TERMINAL_RUN_STATUSES } from "@wfkit/core";
import type { Command } from "commander";
import { json } from "./format.js";
import type { CliIo } from "./io.js";
import { resolveWorkflow } from "./workflow-resolve.js";
import { addWorldOptions, UsageError, type WorldFlags, withWorld } from "./world-options.js";

interface SteerFlags extends WorldFlags {
  json?: boolean;
}

const EXECUTED_ELSEWHERE =
  "A process that executes runs on this world (the app, or `wf worker`) takes it up; follow it with: wf inspect run";

function parseJson(text: string, what: string, example: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(
      `${what} must be JSON (${(error as Error).message}); quote it for the shell, e.g. '${example}'.`,
    );
  }
}

export function addSteerCommands(program: Command, io: CliIo): void {
  addWorldOptions(
    program
      .command("start")
      .description(
        "start a run of a workflow (by ID, or by a name the build manifest or the sources resolve)",
      )
      .argument("<workflow>", "workflow ID (workflow//src/order.ts//order) or its function name")
      .argument("[argsJson]", "the workflow's arguments as a JSON array, e.g. '[\"order-1\", 2]'", "[]")
      .option("--run-id <id>", "choose the run's ID (must be unique)")
      .option("--json", "print { runId, workflowId } as JSON"),
  ).action(async (workflow: string, argsJson: string, flags: SteerFlags & { runId?: string }) =>
    withWorld(
      "start",
      flags,
      io,
      async ({ engine }) => {
        const args = parseJson(argsJson, "argsJson", '["order-1"]');
        if (!Array.isArray(args))
          throw new UsageError(
            `argsJson must be a JSON array of arguments, e.g. '["order-1"]'; got ${argsJson}.`,
          );
        const { workflowId, via } = await resolveWorkflow(workflow, findProjectRoot(io.cwd()));
        const runId = await engine.start(workflowId, args, flags.runId ? { runId: flags.runId } : {});
        if (flags.json) return io.out(json({ runId, workflowId }));
        const from =
          via === "id" ? "" : ` (resolved from the ${via === "manifest" ? "build manifest" : "sources"})`;
        io.out(`Started run ${runId} of ${workflowId}${from}.\n${EXECUTED_ELSEWHERE} ${runId}\n`);
      },
      { create: true },
    ),
  );

  addWorldOptions(
    program
      .command("cancel")
      .description("cancel a run, or every unfinished run matching --status/--workflow (with --yes)")
      .argument("[runId]")
      .option("--reason <text>", "recorded with the cancellation")
      .option("--status <status>", "bulk: cancel unfinished runs in this status (pending, running)")
      .option("--workflow <id>", "bulk: cancel unfinished runs of this workflow ID")
      .option("--yes", "bulk: really cancel (without it, only lists what would be cancelled)")
      .option("--json", "print the cancelled run IDs as JSON"),
  ).action(
    async (
      runId: string | undefined,
      flags: SteerFlags & { reason?: string; status?: string; workflow?: string; yes?: boolean },
    ) =>
      withWorld("cancel", flags, io, async ({ world, engine }) => {
        if (runId && (flags.status || flags.workflow)) {
          throw new UsageError("give a run ID or --status/--workflow, not both.");
        }
        if (runId) {
          await new Run(runId, engine).cancel(flags.reason === undefined ? {} : { reason: flags.reason });
          const status = (await world.getRun(runId))?.status;
          if (flags.json) return io.out(json({ cancelled: status === "cancelled" ? [runId] : [], status }));
          io.out(
            status === "cancelled"
              ? `Cancelled run ${runId}.\n`
              : `Run ${runId} had already ended (${status}); nothing to cancel.\n`,
          );
          return;
        }
        if (!flags.status && !flags.workflow) {
          throw new UsageError("which runs? Pass a run ID, or --status and/or --workflow to cancel in bulk.");
        }
        const statuses = bulkStatuses(flags.status);
        const matching: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await world.listRuns({
            status: statuses,
            ...(flags.workflow ? { workflowName: flags.workflow } : {}),
            limit: 1000,
            ...(cursor ? { cursor } : {}),
          });
          matching.push(...page.items.map((r) => r.runId));
          cursor = page.nextCursor;
        } while (cursor);
        if (!flags.yes) {
          if (flags.json) return io.out(json({ wouldCancel: matching }));
          io.out(
            matching.length === 0
              ? "No unfinished runs match.\n"
              : `${matching.length} run(s) would be cancelled:\n${matching.map((id) => `  ${id}`).join("\n")}\nAdd --yes to cancel them.\n`,
          );
          if (matching.length > 0) io.exit(1);
          return;
        }
        const cancelled: string[] = [];
        for (const id of matching) {
          await engine.cancel(id, flags.reason);
          if ((await world.getRun(id))?.status === "cancelled") cancelled.push(id);
        }
        if (flags.json) return io.out(json({ cancelled }));
        io.out(
          `Cancelled ${cancelled.length} run(s)${cancelled.length < matching.length ? ` (${matching.length - cancelled.length} ended meanwhile)` : ""}.\n`,
        );
      }),
  );

  addWorldOptions(
    program
      .command("retry")
      .description("re-drive a failed run from its failed step, keeping every completed step")
      .argument("<runId>")
      .option("--reason <text>", "recorded with the retry")
      .option("--json", "print { runId, steps } as JSON"),
  ).action(async (runId: string, flags: SteerFlags & { reason?: string }) =>
    withWorld("retry", flags, io, async ({ world, engine }) => {
      await new Run(runId, engine).retry(flags.reason === undefined ? {} : { reason: flags.reason });
      const events = await world.readEvents(runId);
      const retried = events.findLast((e) => e.type === "run_retried");
      const steps = (retried?.data as { steps?: string[] } | undefined)?.steps ?? [];
      if (flags.json) return io.out(json({ runId, steps }));
      io.out(
        `Retried run ${runId}: ${steps.length > 0 ? `re-drives ${steps.join(", ")}` : "the workflow continues where it failed"}; completed steps keep their results.\n${EXECUTED_ELSEWHERE} ${runId}\n`,
      );
    }),
  );

  addWorldOptions(
    program
      .command("pause")
      .description("pause a run: it starts no step and fires no wake-up until resumed")
      .argument("<runId>")
      .option("--reason <text>", "recorded with the pause")
      .option("--json", "print { runId, status } as JSON"),
  ).action(async (runId: string, flags: SteerFlags & { reason?: string }) =>
    withWorld("pause", flags, io, async ({ engine }) => {
      const run = new Run(runId, engine);
      await run.pause(flags.reason === undefined ? {} : { reason: flags.reason });
      if (flags.json) return io.out(json({ runId, status: await run.status }));
      io.out(`Paused run ${runId}: steps already running finish and are recorded; nothing else starts.
`);
    }),
  );

  addWorldOptions(
    program
      .command("resume")
      .description("resume a paused run where it stopped")
      .argument("<runId>")
      .option("--json", "print { runId, status } as JSON"),
  ).action(async (runId: string, flags: SteerFlags) =>
    withWorld("resume", flags, io, async ({ engine }) => {
      const run = new Run(runId, engine);
      await run.resume();
      if (flags.json) return io.out(json({ runId, status: await run.status }));
      io.out(`Resumed run ${runId}.\n${EXECUTED_ELSEWHERE} ${runId}\n`);
    }),
  );

  addWorldOptions(
    program
      .command("fork")
      .description("start a new run that reuses a run's results up to a step")
      .argument("<runId>")
      .option(
        "--from-step <stepId>",
        "the step to execute again, e.g. step_0003 (default: where the run stopped)",
      )
      .option("--json", "print { runId, forkedFrom } as JSON"),
  ).action(async (runId: string, flags: SteerFlags & { fromStep?: string }) =>
    withWorld("fork", flags, io, async ({ engine }) => {
      const fork = await new Run(runId, engine).fork(
        flags.fromStep === undefined ? {} : { fromStep: flags.fromStep },
      );
      if (flags.json) return io.out(json({ runId: fork.runId, forkedFrom: runId }));
      io.out(
        `Forked run ${runId}${flags.fromStep ? ` from ${flags.fromStep}` : ""} as ${fork.runId}.\n${EXECUTED_ELSEWHERE} ${fork.runId}\n`,
      );
    }),
  );

  addWorldOptions(
    program
      .command("rewind")
      .description("cancel a run and fork it from a step (the new run's ID is the cancel reason)")
      .argument("<runId>")
      .requiredOption("--to-step <stepId>", "the step to execute again, e.g. step_0003")
      .option("--json", "print { runId, rewoundFrom } as JSON"),
  ).action(async (runId: string, flags: SteerFlags & { toStep: string }) =>
    withWorld("rewind", flags, io, async ({ engine }) => {
      const fork = await new Run(runId, engine).rewind({ toStep: flags.toStep });
      if (flags.json) return io.out(json({ runId: fork.runId, rewoundFrom: runId }));
      io.out(
        `Rewound run ${runId} to ${flags.toStep}: the new run is ${fork.runId}.\n${EXECUTED_ELSEWHERE} ${fork.runId}\n`,
      );
    }),
  );

  addWorldOptions(
    program
      .command("resume-hook")
      .description("deliver a payload to the hook holding a token")
      .argument("<token>")
      .argument("<payloadJson>", "the payload as JSON, e.g. '{\"approved\": true}'")
      .option("--json", "print { runId, hookId } as JSON"),
  ).action(async (token: string, payloadJson: string, flags: SteerFlags) =>
    withWorld("resume-hook", flags, io, async ({ engine }) => {
      const payload = parseJson(payloadJson, "payloadJson", '{"approved": true}');
      const hook = await engine.resumeHook(token, payload);
      if (flags.json) return io.out(json({ runId: hook.runId, hookId: hook.hookId }));
      io.out(`Delivered to hook ${hook.hookId} of run ${hook.runId}.\n`);
    }),
  );
}

function bulkStatuses(raw: string | undefined): RunStatus[] {
  const unfinished: RunStatus[] = ["pending", "running"];
  if (raw === undefined) return unfinished;
  const list = raw.split(",").map((s) => s.trim()) as RunStatus[];
  for (const s of list) {
    if (TERMINAL_RUN_STATUSES.includes(s))
      throw new UsageError(`--status ${s}: a ${s} run has ended and cannot be cancelled.`);
    if (!unfinished.includes(s))
      throw new UsageError(`--status "${s}" is not a run status; cancel pending or running runs.`);
  }
  return list;
}
