/**
 * `wf verify`: before a deploy, replays every unfinished run of the world against the code about to run it (the
 * project's sources, or a `wf build` output with `--build`), executing no step and recording nothing, and lists
 * the runs that would diverge (`REPLAY_DIVERGENCE`) with the first operation where code and log disagree. Exit
 * code 1 when any run would diverge or its workflow is missing from the code.
 */
import path from "node:path";
import {
  type CodeProvider,
  createBuiltCodeProvider,
  type ReplayReport,
  type RunRecord,
  type World,
} from "@wfkit/core";
import { createSourceCodeProvider, findProjectRoot } from "@wfkit/node";
import type { Command } from "commander";
import type { CliIo } from "./io.js";
import { addWorldOptions, type WorldFlags, withWorld } from "./world-options.js";

interface VerifyFlags extends WorldFlags {
  build?: string;
  projectRoot?: string;
  workflow?: string;
  json?: boolean;
}

/** One run's verdict. */
export interface VerifyResult {
  runId: string;
  workflowName: string;
  status: string;
  verdict: "ok" | "diverges" | "missing";
  eventsReplayed?: number;
  /** Seq of the first event the code disagrees with (diverges). */
  seq?: number;
  /** The divergence or why the code could not be loaded. */
  message?: string;
  /** The operations the code would record next (ok). */
  next?: string[];
}

const UNFINISHED = ["pending", "running", "paused"] as const;

export function addVerifyCommand(program: Command, io: CliIo): void {
  addWorldOptions(
    program
      .command("verify")
      .description(
        "replay every unfinished run against the current code (or a wf build output) without executing steps; list runs that would diverge",
      )
      .option("--build <dir>", "replay against this wf build output (e.g. .workflow) instead of the sources")
      .option(
        "--project-root <dir>",
        "the project whose sources to replay against (default: nearest package.json)",
      )
      .option("--workflow <id>", "only runs of this workflow")
      .option("--json", "print JSON for scripts"),
  ).action(async (flags: VerifyFlags) =>
    withWorld("verify", flags, io, async ({ world, engine }) => {
      engine.codeProvider = codeFor(flags, io);
      const results: VerifyResult[] = [];
      for await (const run of unfinishedRuns(world, flags.workflow)) {
        results.push(await verifyRun(run, world, (s) => engine.replayLog(s)));
      }
      const bad = results.filter((r) => r.verdict !== "ok");
      if (flags.json) io.out(`${JSON.stringify({ runs: results, diverging: bad.length }, null, 2)}\n`);
      else io.out(report(results, flags));
      if (bad.length > 0) io.exit(1);
    }),
  );
}

function codeFor(flags: VerifyFlags, io: CliIo): CodeProvider {
  if (flags.build) return createBuiltCodeProvider({ dir: path.resolve(io.cwd(), flags.build) });
  const root = flags.projectRoot ? path.resolve(io.cwd(), flags.projectRoot) : findProjectRoot(io.cwd());
  return createSourceCodeProvider(root);
}

async function* unfinishedRuns(world: World, workflowName?: string): AsyncGenerator<RunRecord> {
  let cursor: string | undefined;
  do {
    const page = await world.listRuns({
      status: [...UNFINISHED],
      limit: 500,
      ...(workflowName ? { workflowName } : {}),
      ...(cursor ? { cursor } : {}),
    });
    yield* page.items;
    cursor = page.nextCursor;
  } while (cursor);
}

async function verifyRun(
  run: RunRecord,
  world: World,
  replay: (s: { runId: string; workflowName: string; events: never }) => Promise<ReplayReport>,
): Promise<VerifyResult> {
  const base = { runId: run.runId, workflowName: run.workflowName, status: run.status };
  let report: ReplayReport;
  try {
    const events = await world.readEvents(run.runId);
    report = await replay({ runId: run.runId, workflowName: run.workflowName, events: events as never });
  } catch (error) {
    // No code for the workflow (renamed, removed, not built), or the code fails to load.
    return { ...base, verdict: "missing", message: (error as Error)?.message ?? String(error) };
  }
  if (!report.ok) {
    return { ...base, verdict: "diverges", seq: report.seq, message: report.error.message };
  }
  return {
    ...base,
    verdict: "ok",
    eventsReplayed: report.eventsReplayed,
    next: report.next.map((n) =>
      n.kind === "step" ? `${n.name} (${n.correlationId})` : `${n.kind} (${n.correlationId})`,
    ),
  };
}

function report(results: VerifyResult[], flags: VerifyFlags): string {
  const against = flags.build ? `the build in ${flags.build}` : "the current sources";
  if (results.length === 0) return `No unfinished runs to verify against ${against}.\n`;
  const lines: string[] = [];
  for (const r of results) {
    if (r.verdict === "ok")
      lines.push(`ok        ${r.runId}  ${r.workflowName}  (${r.eventsReplayed} events replayed)`);
    else if (r.verdict === "diverges") {
      lines.push(`DIVERGES  ${r.runId}  ${r.workflowName}  at seq ${r.seq}`);
      lines.push(`          ${firstSentence(r.message ?? "")}`);
    } else {
      lines.push(`MISSING   ${r.runId}  ${r.workflowName}`);
      lines.push(`          ${firstSentence(r.message ?? "")}`);
    }
  }
  const bad = results.filter((r) => r.verdict !== "ok").length;
  lines.push(
    "",
    bad === 0
      ? `All ${results.length} unfinished run${results.length === 1 ? "" : "s"} replay cleanly against ${against}.`
      : `${bad} of ${results.length} unfinished run${results.length === 1 ? "" : "s"} would not continue on ${against}: ` +
          "deploy it only after they finish, or cancel them (wf cancel <runId>).",
  );
  return `${lines.join("\n")}\n`;
}

/** The part of a divergence message that names both sides (the engine appends generic advice). */
function firstSentence(message: string): string {
  const advice = message.indexOf(" The workflow code no longer matches");
  return advice === -1 ? message : message.slice(0, advice);
}
