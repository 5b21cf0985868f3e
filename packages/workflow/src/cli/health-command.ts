/**
 * `wf health`: can this world be opened, and is anything waiting for an executor that should have taken it?
 * Exit 0 healthy, 1 the world cannot be opened or read, 2 work is overdue (no process executes runs, or they
 * cannot keep up): wake-ups due, hook payloads not consumed, or runs whose executor died, for longer than `--grace`.
 */
import type { Command } from "commander";
import { duration, json } from "./format.js";
import type { CliIo } from "./io.js";
import { addWorldOptions, UsageError, type WorldFlags, withWorld } from "./world-options.js";

export function addHealthCommand(program: Command, io: CliIo): void {
  addWorldOptions(
    program
      .command("health")
      .description("check that the world answers and that no run waits for an executor too long")
      .option("--grace <ms>", "how late a wake-up or delivery may be before it counts as overdue", "30000")
      .option("--json", "print the report as JSON"),
  ).action(async (flags: WorldFlags & { grace: string; json?: boolean }) =>
    withWorld("health", flags, io, async ({ world }) => {
      const grace = Number(flags.grace);
      if (!Number.isFinite(grace) || grace < 0)
        throw new UsageError(`--grace must be milliseconds ≥ 0, got "${flags.grace}".`);
      const began = Date.now();
      await world.listRuns({ limit: 1 });
      const latencyMs = Date.now() - began;
      const now = Date.now();
      const [unfinished, due, deliveries, abandoned] = await Promise.all([
        world.listRuns({ status: ["pending", "running"], limit: 1000 }),
        world.listDue(now - grace, 100),
        world.listDeliveryRuns(now - grace, 100),
        world.listAbandoned(now - grace, 100),
      ]);
      const overdue = {
        wakeUps: due.map((d) => ({ runId: d.runId, dueSince: new Date(d.wakeAt) })),
        deliveries: deliveries.map((d) => ({ runId: d.runId, since: new Date(d.since) })),
        abandoned: abandoned.map((a) => ({ runId: a.runId, leaseExpiredAt: new Date(a.expiredAt) })),
      };
      const problems = overdue.wakeUps.length + overdue.deliveries.length + overdue.abandoned.length;
      const report = {
        ok: problems === 0,
        world: world.name,
        latencyMs,
        unfinishedRuns: unfinished.nextCursor ? `${unfinished.items.length}+` : unfinished.items.length,
        overdue,
      };
      if (flags.json) io.out(json(report));
      else {
        io.out(`World       ${world.name} (answered in ${duration(latencyMs)})\n`);
        io.out(`Unfinished  ${report.unfinishedRuns} run(s)\n`);
        if (problems === 0)
          io.out("Overdue     nothing: every due wake-up and delivery was taken up in time\n");
        else {
          io.out(
            `Overdue     ${overdue.wakeUps.length} wake-up(s), ${overdue.deliveries.length} undelivered hook payload(s), ` +
              `${overdue.abandoned.length} run(s) whose executor died, each for more than ${duration(grace)}.\n` +
              "            Is a process that executes runs (the app, `wf worker`) running on this world?\n",
          );
          for (const r of [...overdue.wakeUps, ...overdue.deliveries, ...overdue.abandoned].slice(0, 10)) {
            io.out(`            ${r.runId}\n`);
          }
        }
      }
      if (problems > 0) io.exit(2);
    }),
  );
}
