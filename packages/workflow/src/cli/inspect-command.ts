/**
 * `wf inspect runs|run|steps|events|hooks|sleeps|streams`: WDK's `workflow inspect` names and flags (`--runId`,
 * `--status`, `--workflow`, `--limit`, `--cursor`, `--withData`, `--json`) against any world, from any process,
 * while the app runs. Tables with relative times for people; `--json` for scripts (stable shapes, see
 * `toJsonValue`). Values are decoded for display without running app code (`hydrateData`).
 */
import {
  CHILD_TOKEN_PREFIX,
  callOrder,
  eventInfo,
  type HookRecord,
  hydrateData,
  type RunInfo,
  type RunStatus,
  runInfo,
  runOverhead,
  type StepInfo,
  stepInfo,
  type WaitRecord,
  type World,
  withWaitingFor,
} from "@wfkit/core";
import type { Command } from "commander";
import { displayName, duration, full, json, preview, relativeTime, table } from "./format.js";
import type { CliIo } from "./io.js";
import { addWorldOptions, UsageError, type WorldFlags, withWorld } from "./world-options.js";

interface InspectFlags extends WorldFlags {
  runId?: string;
  status?: string;
  workflow?: string;
  limit?: string;
  cursor?: string;
  withData?: boolean;
  json?: boolean;
}

const STATUSES: RunStatus[] = ["pending", "running", "completed", "failed", "cancelled"];
const DATA_FIELDS = ["input", "output", "metadata", "payload"] as const;

function addInspectFlags(command: Command, opts: { runId?: "required" | "optional" | false } = {}): Command {
  if (opts.runId !== false) command.option("--runId <id>", "the run (or give it as the argument)");
  command
    .option("--limit <n>", "most rows to show (runs: page size, default 20)")
    .option("--cursor <cursor>", "continue after the previous page (printed at its end)")
    .option("--withData", "also show inputs, outputs and payloads (decoded)")
    .option("--json", "print JSON for scripts instead of a table");
  return addWorldOptions(command);
}

function limitOf(flags: InspectFlags, fallback: number): number {
  if (flags.limit === undefined) return fallback;
  const n = Number(flags.limit);
  if (!Number.isInteger(n) || n < 1 || n > 1000) {
    throw new UsageError(`--limit must be a whole number from 1 to 1000, got "${flags.limit}".`);
  }
  return n;
}

function runIdOf(arg: string | undefined, flags: InspectFlags, resource: string): string {
  const runId = arg ?? flags.runId;
  if (!runId)
    throw new UsageError(`which run? Pass it: wf inspect ${resource} <runId> (or --runId <runId>).`);
  return runId;
}

/** Without `--withData`, the decoded values a script did not ask for are left out (errors always stay). */
function withoutData<T extends object>(info: T, flags: InspectFlags): T {
  if (flags.withData) return info;
  const out = { ...info } as Record<string, unknown>;
  for (const field of DATA_FIELDS) delete out[field];
  if (typeof out.data === "object" && out.data !== null) {
    const data = { ...(out.data as Record<string, unknown>) };
    for (const field of [...DATA_FIELDS, "output"]) delete data[field];
    out.data = data;
  }
  return out as T;
}

function errorSummary(error: unknown): string {
  if (error === undefined) return "";
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return preview(error);
}

async function mustGetRun(world: World, runId: string) {
  const record = await world.getRun(runId);
  if (!record)
    throw new UsageError(`no run ${runId} in the ${world.name} world. List runs with: wf inspect runs`);
  return record;
}

export function addInspectCommand(program: Command, io: CliIo): void {
  const inspect = program
    .command("inspect")
    .description("show runs, steps, events, hooks, sleeps and streams of a world");

  addInspectFlags(
    inspect
      .command("runs")
      .description("list runs, newest first")
      .option(
        "--status <status>",
        `only runs in this status (${STATUSES.join(", ")}; several: comma-separated)`,
      )
      .option("--workflow <id>", "only runs of this workflow ID"),
    { runId: false },
  ).action((flags: InspectFlags) =>
    withWorld("inspect runs", flags, io, async ({ world }) => {
      const status = statusesOf(flags.status);
      const page = await world.listRuns({
        ...(status ? { status } : {}),
        ...(flags.workflow ? { workflowName: flags.workflow } : {}),
        limit: limitOf(flags, 20),
        ...(flags.cursor ? { cursor: flags.cursor } : {}),
      });
      const runs = await withWaitingFor(world, page.items);
      if (flags.json) {
        io.out(
          json({
            data: runs.map((r) => withoutData(r, flags)),
            ...(page.nextCursor ? { cursor: page.nextCursor } : {}),
            hasMore: page.nextCursor !== undefined,
          }),
        );
        return;
      }
      if (runs.length === 0) {
        io.out(`No runs${status || flags.workflow ? " match" : ""} in the ${world.name} world.\n`);
        return;
      }
      const headers = ["RUN ID", "WORKFLOW", "STATUS", "CREATED", "DURATION"];
      if (flags.withData) headers.push("INPUT", "OUTPUT");
      headers.push("ERROR / REASON");
      io.out(
        table(
          headers,
          runs.map((r) => [
            r.runId,
            displayName(r.workflowName),
            r.status,
            relativeTime(r.createdAt),
            duration(runDuration(r)),
            ...(flags.withData ? [preview(r.input, 40), preview(r.output, 40)] : []),
            r.error !== undefined
              ? errorSummary(r.error)
              : (r.cancelReason ?? (r.waitingFor ? `waiting: ${r.waitingFor}` : "")),
          ]),
        ),
      );
      if (page.nextCursor) io.out(`\nMore: wf inspect runs --cursor ${page.nextCursor}\n`);
    }),
  );

  addInspectFlags(
    inspect.command("run").argument("[runId]").description("one run: its data, overhead breakdown and steps"),
  ).action((arg: string | undefined, flags: InspectFlags) =>
    withWorld("inspect run", flags, io, async ({ world }) => {
      const runId = runIdOf(arg, flags, "run");
      const record = await mustGetRun(world, runId);
      const info = runInfo(record);
      const events = await world.readEvents(runId);
      const overhead = runOverhead(events);
      const steps = (await world.listSteps(runId))
        .sort((a, b) => callOrder(a.stepId, b.stepId))
        .map(stepInfo);
      const [hooks, waits] = await Promise.all([world.listHooks(runId), world.listWaits(runId)]);
      // The run tree: a child records its parent in run_created's metadata; a parent waits for each child on a
      // hook whose token names the child (`wfchild_<child run ID>`).
      const parent = (info.metadata as { parent?: { runId?: unknown } } | undefined)?.parent;
      const parentRunId = typeof parent?.runId === "string" ? parent.runId : undefined;
      const children = await Promise.all(
        hooks
          .filter((h) => h.token.startsWith(CHILD_TOKEN_PREFIX))
          .map(async (h) => {
            const childRunId = h.token.slice(CHILD_TOKEN_PREFIX.length);
            const child = await world.getRun(childRunId);
            return {
              runId: childRunId,
              workflowName: child?.workflowName,
              status: child?.status ?? "not created",
            };
          }),
      );
      if (flags.json) {
        io.out(
          json({
            run: info,
            ...(parentRunId ? { parentRunId } : {}),
            children,
            overhead,
            steps: steps.map((s) => withoutData(s, flags)),
            hooks: hooks.map(hookJson),
            sleeps: waits.map(waitJson),
          }),
        );
        return;
      }
      const lines: [string, string][] = [
        ["Run", info.runId],
        ["Workflow", `${displayName(info.workflowName)} (${info.workflowName})`],
        ["Status", info.status + (info.cancelReason ? ` (${info.cancelReason})` : "")],
        ["Created", `${info.createdAt.toISOString()} (${relativeTime(info.createdAt)})`],
      ];
      if (info.startedAt)
        lines.push(["Started", `${info.startedAt.toISOString()} (${relativeTime(info.startedAt)})`]);
      if (info.completedAt) {
        lines.push(["Completed", `${info.completedAt.toISOString()} (${relativeTime(info.completedAt)})`]);
      }
      lines.push(["Duration", duration(overhead.totalMs) + (info.completedAt ? "" : " so far")]);
      const forked = (info.metadata as { forkedFrom?: { runId: string; fromStep?: string } } | undefined)
        ?.forkedFrom;
      if (forked)
        lines.push(["Forked from", `${forked.runId}${forked.fromStep ? ` at ${forked.fromStep}` : ""}`]);
      if (parentRunId) lines.push(["Parent", `${parentRunId}: wf inspect run ${parentRunId}`]);
      if (record.quarantine)
        lines.push(["Quarantined", `${record.quarantine.code}: ${record.quarantine.reason}`]);
      const width = Math.max(...lines.map(([k]) => k.length)) + 2;
      for (const [k, v] of lines) io.out(`${k.padEnd(width)}${v}\n`);
      io.out(`${"Input".padEnd(width)}${indent(full(info.input), width)}\n`);
      if (info.output !== undefined) io.out(`${"Output".padEnd(width)}${indent(full(info.output), width)}\n`);
      if (info.error !== undefined) io.out(`${"Error".padEnd(width)}${indent(full(info.error), width)}\n`);
      io.out("\nOverhead (from the event log)\n");
      const gaps = overhead.stepGapMs;
      const overheadRows: [string, string][] = [
        ["time to first step", duration(overhead.timeToFirstStepMs)],
        [
          "step-to-step overhead",
          gaps.count === 0
            ? "-"
            : `mean ${duration(gaps.meanMs)}, p50 ${duration(gaps.p50Ms)}, max ${duration(gaps.maxMs)} (${gaps.count} hand-off${gaps.count === 1 ? "" : "s"})`,
        ],
        ["inside steps", `${duration(overhead.insideStepsMs)} (${overhead.stepAttempts} attempts)`],
        [
          "outside steps",
          `${duration(overhead.outsideStepsMs)} (waiting on sleeps/back-offs ${duration(overhead.waitingMs)}, engine and hooks ${duration(overhead.engineMs)})`,
        ],
      ];
      for (const [k, v] of overheadRows) io.out(`  ${k.padEnd(24)}${v}\n`);
      if (steps.length > 0) {
        io.out(`\nSteps (${steps.length})\n`);
        io.out(stepTable(steps, flags));
      }
      if (children.length > 0) {
        io.out(`\nChild runs (${children.length})\n`);
        for (const c of children)
          io.out(`  ${c.runId}  ${c.status}${c.workflowName ? `  ${displayName(c.workflowName)}` : ""}\n`);
      }
      if (hooks.length > 0) io.out(`\nHooks (${hooks.length})\n${hookTable(hooks, flags)}`);
      if (waits.length > 0) io.out(`\nSleeps (${waits.length})\n${waitTable(waits)}`);
      io.out(`\n${events.length} events: wf inspect events ${runId}\n`);
    }),
  );

  addInspectFlags(
    inspect.command("steps").argument("[runId]").description("the steps of a run, in call order"),
  ).action((arg: string | undefined, flags: InspectFlags) =>
    withWorld("inspect steps", flags, io, async ({ world }) => {
      const runId = runIdOf(arg, flags, "steps");
      await mustGetRun(world, runId);
      const all = (await world.listSteps(runId)).sort((a, b) => callOrder(a.stepId, b.stepId));
      const after = flags.cursor ? all.findIndex((s) => s.stepId === flags.cursor) + 1 : 0;
      const limit = limitOf(flags, 1000);
      const steps = all.slice(after, after + limit).map(stepInfo);
      const next = after + limit < all.length ? steps.at(-1)?.stepId : undefined;
      if (flags.json) {
        io.out(
          json({
            data: steps.map((s) => withoutData(s, flags)),
            ...(next ? { cursor: next } : {}),
            hasMore: !!next,
          }),
        );
        return;
      }
      io.out(steps.length === 0 ? `Run ${runId} has no steps yet.\n` : stepTable(steps, flags));
      if (next) io.out(`\nMore: wf inspect steps ${runId} --cursor ${next}\n`);
    }),
  );

  addInspectFlags(inspect.command("events").argument("[runId]").description("the event log of a run")).action(
    (arg: string | undefined, flags: InspectFlags) =>
      withWorld("inspect events", flags, io, async ({ world }) => {
        const runId = runIdOf(arg, flags, "events");
        await mustGetRun(world, runId);
        const afterSeq = flags.cursor === undefined ? 0 : Number(flags.cursor);
        if (!Number.isInteger(afterSeq) || afterSeq < 0) {
          throw new UsageError(`--cursor for events is the last seq seen, got "${flags.cursor}".`);
        }
        const limit = limitOf(flags, 1000);
        const raw = await world.readEvents(runId, { afterSeq, limit: limit + 1 });
        const events = raw.slice(0, limit).map(eventInfo);
        const next = raw.length > limit ? String(events.at(-1)!.seq) : undefined;
        if (flags.json) {
          io.out(
            json({
              data: events.map((e) => withoutData(e, flags)),
              ...(next ? { cursor: next } : {}),
              hasMore: !!next,
            }),
          );
          return;
        }
        const first =
          afterSeq === 0
            ? events[0]?.createdAt.getTime()
            : (await world.readEvents(runId, { limit: 1 }))[0]?.createdAt;
        io.out(
          table(
            ["SEQ", "TYPE", "ID", "AT", "DETAIL"],
            events.map((e) => [
              String(e.seq),
              e.type,
              e.correlationId ?? "",
              first === undefined ? relativeTime(e.createdAt) : `+${duration(e.createdAt.getTime() - first)}`,
              eventDetail(e.data, flags),
            ]),
          ),
        );
        if (next) io.out(`\nMore: wf inspect events ${runId} --cursor ${next}\n`);
      }),
  );

  addInspectFlags(
    inspect
      .command("hooks")
      .argument("[runId]")
      .description("hooks of a run, or the live hooks of unfinished runs"),
  ).action((arg: string | undefined, flags: InspectFlags) =>
    withWorld("inspect hooks", flags, io, async ({ world }) => {
      const runId = arg ?? flags.runId;
      const hooks = await ofRunOrUnfinished(
        world,
        runId,
        flags,
        (id) => world.listHooks(id),
        (h) => h.status === "active",
      );
      if (flags.json) {
        io.out(json({ data: hooks.map((h) => withoutData(hookJson(h), flags)) }));
        return;
      }
      io.out(hooks.length === 0 ? `No ${runId ? "" : "live "}hooks.\n` : hookTable(hooks, flags, !runId));
    }),
  );

  addInspectFlags(
    inspect
      .command("sleeps")
      .argument("[runId]")
      .description("sleeps of a run, or the pending sleeps of unfinished runs"),
  ).action((arg: string | undefined, flags: InspectFlags) =>
    withWorld("inspect sleeps", flags, io, async ({ world }) => {
      const runId = arg ?? flags.runId;
      const waits = await ofRunOrUnfinished(
        world,
        runId,
        flags,
        (id) => world.listWaits(id),
        (w) => w.status === "waiting",
      );
      if (flags.json) {
        io.out(json({ data: waits.map(waitJson) }));
        return;
      }
      io.out(waits.length === 0 ? `No ${runId ? "" : "pending "}sleeps.\n` : waitTable(waits, !runId));
    }),
  );

  addInspectFlags(
    inspect.command("streams").argument("[runId]").description("the output streams of a run"),
  ).action((arg: string | undefined, flags: InspectFlags) =>
    withWorld("inspect streams", flags, io, async ({ world }) => {
      const runId = runIdOf(arg, flags, "streams");
      await mustGetRun(world, runId);
      if (!world.readStream) throw new UsageError(`the ${world.name} world has no streams.`);
      const streams = world.listStreams
        ? await world.listStreams(runId)
        : [await defaultStreamInfo(world, runId)].filter((s) => s.chunks > 0 || s.closed);
      const rows = await Promise.all(
        streams.map(async (s) => {
          if (!flags.withData || s.chunks === 0) return { ...s };
          const last = (await world.readStream!(runId, s.name, { startIndex: s.chunks - 1, limit: 1 }))
            .chunks[0];
          return { ...s, last: last ? hydrateData(last.data) : undefined };
        }),
      );
      if (flags.json) {
        io.out(json({ data: rows }));
        return;
      }
      io.out(
        rows.length === 0
          ? `Run ${runId} wrote no streams.\n`
          : table(
              ["NAME", "CHUNKS", "CLOSED", ...(flags.withData ? ["LAST CHUNK"] : [])],
              rows.map((s) => [
                s.name,
                String(s.chunks),
                s.closed ? "yes" : "no",
                ...(flags.withData ? [preview((s as { last?: unknown }).last)] : []),
              ]),
            ),
      );
      if (rows.length > 0) io.out(`\nRead one: wf streams read ${runId} --namespace <name>\n`);
    }),
  );
}

function statusesOf(raw: string | undefined): RunStatus[] | undefined {
  if (raw === undefined) return undefined;
  const list = raw.split(",").map((s) => s.trim()) as RunStatus[];
  for (const s of list) {
    if (!STATUSES.includes(s))
      throw new UsageError(`--status "${s}" is not a run status; use ${STATUSES.join(", ")}.`);
  }
  return list;
}

function runDuration(r: RunInfo): number | undefined {
  return (r.completedAt?.getTime() ?? Date.now()) - r.createdAt.getTime();
}

function indent(text: string, width: number): string {
  return text.split("\n").join(`\n${" ".repeat(width)}`);
}

function stepTable(steps: StepInfo[], flags: InspectFlags): string {
  return table(
    [
      "STEP ID",
      "NAME",
      "STATUS",
      "ATTEMPT",
      "STARTED",
      "DURATION",
      ...(flags.withData ? ["INPUT", "OUTPUT"] : []),
      "ERROR",
    ],
    steps.map((s) => [
      s.stepId,
      displayName(s.stepName),
      s.status + (s.retryAt ? ` (retry ${relativeTime(s.retryAt)})` : ""),
      String(s.attempt),
      relativeTime(s.startedAt),
      s.startedAt ? duration((s.completedAt?.getTime() ?? Date.now()) - s.startedAt.getTime()) : "-",
      ...(flags.withData
        ? [preview((s.input as { args?: unknown })?.args ?? s.input, 40), preview(s.output, 40)]
        : []),
      errorSummary(s.error),
    ]),
  );
}

function hookJson(h: HookRecord) {
  return {
    runId: h.runId,
    hookId: h.hookId,
    token: h.token,
    kind: h.kind,
    status: h.status,
    createdAt: new Date(h.createdAt),
    ...(h.disposedAt === undefined ? {} : { disposedAt: new Date(h.disposedAt) }),
    ...(h.metadata === undefined ? {} : { metadata: hydrateData(h.metadata) }),
  };
}

/** Times as Dates, so `--json` prints them as ISO strings like every other record. */
function waitJson(w: WaitRecord) {
  return {
    runId: w.runId,
    waitId: w.waitId,
    status: w.status,
    resumeAt: new Date(w.resumeAt),
    createdAt: new Date(w.createdAt),
    ...(w.completedAt === undefined ? {} : { completedAt: new Date(w.completedAt) }),
  };
}

function hookTable(hooks: HookRecord[], flags: InspectFlags, withRun = false): string {
  return table(
    [
      "HOOK ID",
      "TOKEN",
      "KIND",
      "STATUS",
      ...(withRun ? ["RUN ID"] : []),
      "CREATED",
      ...(flags.withData ? ["METADATA"] : []),
    ],
    hooks.map((h) => [
      h.hookId,
      h.token,
      h.kind,
      h.status,
      ...(withRun ? [h.runId] : []),
      relativeTime(h.createdAt),
      ...(flags.withData ? [h.metadata === undefined ? "-" : preview(hydrateData(h.metadata))] : []),
    ]),
  );
}

function waitTable(waits: WaitRecord[], withRun = false): string {
  return table(
    ["SLEEP ID", "STATUS", ...(withRun ? ["RUN ID"] : []), "CREATED", "RESUMES"],
    waits.map((w) => [
      w.waitId,
      w.status,
      ...(withRun ? [w.runId] : []),
      relativeTime(w.createdAt),
      w.status === "completed" ? `done ${relativeTime(w.completedAt)}` : relativeTime(w.resumeAt),
    ]),
  );
}

function eventDetail(data: Record<string, unknown> | undefined, flags: InspectFlags): string {
  if (!data) return "";
  const parts: string[] = [];
  for (const [key, value] of Object.entries(data)) {
    if (value === undefined) continue;
    if (key === "error") parts.push(`error=${errorSummary(value)}`);
    else if ((DATA_FIELDS as readonly string[]).includes(key) || key === "output") {
      if (flags.withData) parts.push(`${key}=${preview(value, 50)}`);
    } else if (key === "retryAt" || key === "resumeAt") {
      parts.push(`${key}=${relativeTime(value as number)}`);
    } else parts.push(`${key}=${preview(value, 50)}`);
  }
  return parts.join(" ");
}

/**
 * The rows of one run (which must exist), or the `live` rows of the unfinished runs (up to `--limit` runs, default
 * 100): `inspect hooks` and `inspect sleeps` without a run show what is waiting now.
 */
async function ofRunOrUnfinished<T>(
  world: World,
  runId: string | undefined,
  flags: InspectFlags,
  read: (runId: string) => Promise<T[]>,
  live: (row: T) => boolean,
): Promise<T[]> {
  if (runId) {
    await mustGetRun(world, runId);
    return read(runId);
  }
  const page = await world.listRuns({ status: ["pending", "running"], limit: limitOf(flags, 100) });
  const rows = await Promise.all(page.items.map((r) => read(r.runId).catch(() => [] as T[])));
  return rows.flat().filter(live);
}

async function defaultStreamInfo(world: World, runId: string) {
  const page = await world.readStream!(runId, "default");
  return { name: "default", chunks: page.chunks.length, closed: page.closed };
}
