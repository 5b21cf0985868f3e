// Turns the JSON of one `npm run bench` (last-run.json, written by run.mjs) into the committed results:
//   node test/bench/report.mjs [last-run.json] [--out-dir test/bench]   → results.json, RESULTS.md, step-gap.svg
//   node test/bench/report.mjs --from-results [results.json]           → RESULTS.md and step-gap.svg only
// Rows follow the shape of issue 8: { system, world, workload, runs, median_ms, min_ms, max_ms }.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { renderStepGapSvg } from "./step-gap-chart.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));

export const WORKLOADS = [
  "sequential-1",
  "sequential-10",
  "sequential-100",
  "sequential-1000",
  "burst-100x3",
  "burst-1000x3",
  "first-step",
  "overhead-step-1",
  "overhead-step-1000",
  "return-latency",
  "peak-rss-mib",
];
const COLUMNS = [
  "ours/memory",
  "ours/local",
  "ours/postgres",
  "ours/sqlite",
  "ours/redis",
  "wdk/local",
  "wdk/postgres",
  "dbos/postgres",
];
const MODES = ["workflow", "step", "client"];

/** last-run.json → results.json's object. Step-gap series move out of the rows into `step_gaps`. */
export function buildResults(run) {
  const results = [];
  const stepGaps = {};
  const peakRssByGroup = [];
  const errors = [];
  for (const suite of ["engine", "peers", "compiler"]) {
    const data = run.suites?.[suite];
    if (!data) continue;
    if (data.error || data.skipped) errors.push({ suite, ...data });
    if (data.results !== undefined && !Array.isArray(data.results))
      throw new Error(
        `${suite}.results in this run is not a list of rows: the file predates the current bench; rerun \`npm run bench\``,
      );
    for (const row of data.results ?? []) {
      const { gaps_by_step_ms: gaps, world, ...rest } = row;
      if (gaps?.length) stepGaps[`${row.system}/${world}`] = gaps;
      // Compiler rows belong to no world; `world: null` keeps every row's keys the same.
      results.push({ system: rest.system, world: suite === "compiler" ? null : world, ...rest });
    }
    peakRssByGroup.push(...(data.peak_rss_by_group ?? []));
  }
  return {
    machine: run.machine,
    date: run.date,
    settings: run.settings,
    durations_s: run.durations_s,
    versions: {
      node: run.machine?.node,
      ...(run.suites?.peers?.versions ?? {}),
      ...(run.suites?.compiler?.versions ? { swc: run.suites.compiler.versions } : {}),
    },
    compiler_file: run.suites?.compiler?.file,
    results,
    peak_rss_by_group: peakRssByGroup,
    step_gaps: stepGaps,
    engine_stats: run.suites?.engine?.engine_stats,
    errors,
  };
}

const fmt = (x) =>
  x === undefined || x === null
    ? "?"
    : x >= 100
      ? Math.round(x).toLocaleString("en")
      : String(Math.round(x * 100) / 100);
const fmtRatio = (r) => (r >= 10 ? Math.round(r).toLocaleString("en") : String(Math.round(r * 10) / 10));

function find(results, column, workload) {
  const [system, world] = column.split("/");
  return results.find(
    (r) => r.system === system && (world === undefined || r.world === world) && r.workload === workload,
  );
}

function cell(r, runs) {
  if (!r) return "—";
  if (r.error) return "error";
  if (r.skipped)
    return r.overhead_step_100 ? `skipped (step 100: ${fmt(r.overhead_step_100.median_ms)} ms)` : "skipped";
  const n = r.runs !== runs && r.unit !== "MiB" ? `, n=${r.runs}` : "";
  if (r.workload.startsWith("burst"))
    return `${fmt(r.runs_per_s)} runs/s (${fmt(r.median_ms)} ms, ${fmt(r.min_ms)}–${fmt(r.max_ms)}${n})`;
  if (r.unit === "MiB") return `${fmt(r.median_ms)} MiB`;
  return `${fmt(r.median_ms)} ms (${fmt(r.min_ms)}–${fmt(r.max_ms)}${n})`;
}

/** How many times better `ours` is than `peer` (> 1: ours wins): lower is better for times and memory. */
export function ratio(ours, peer) {
  if (!ours || !peer || ours.skipped || peer.skipped || ours.error || peer.error) return undefined;
  if (ours.workload.startsWith("burst")) return ours.runs_per_s / peer.runs_per_s;
  return peer.median_ms / ours.median_ms;
}

const ratioText = (r) =>
  r === undefined ? "—" : r >= 1 ? `**${fmtRatio(r)}× better**` : `${fmtRatio(1 / r)}× worse`;

/** DESIGN §8's targets, each checked against the medians of this run. */
export function checkTargets(results) {
  const v = (col, w) => find(results, col, w);
  const rows = [];
  const add = (target, r, measured, ok) =>
    rows.push({
      target,
      measured: r && !r.skipped && !r.error ? measured : "not measured",
      met: r && !r.skipped && !r.error ? ok : undefined,
    });
  for (const [world, limit] of [
    ["local", 30],
    ["postgres", 120],
  ]) {
    const r = v(`ours/${world}`, "sequential-100");
    add(`sequential-100, ${world} ≤ ${limit} ms`, r, `${fmt(r?.median_ms)} ms`, r?.median_ms <= limit);
  }
  for (const [world, limit] of [
    ["local", 2000],
    ["postgres", 500],
  ]) {
    const r = v(`ours/${world}`, "burst-100x3");
    add(
      `burst-100x3, ${world} ≥ ${limit.toLocaleString("en")} runs/s`,
      r,
      `${fmt(r?.runs_per_s)} runs/s`,
      r?.runs_per_s >= limit,
    );
  }
  for (const world of ["local", "postgres"]) {
    const r = v(`ours/${world}`, "peak-rss-mib");
    add(`peak RSS in burst-100x3, ${world} ≤ 150 MiB`, r, `${fmt(r?.median_ms)} MiB`, r?.median_ms <= 150);
    const l = v(`ours/${world}`, "return-latency");
    add(`return-latency, ${world} ≤ 5 ms`, l, `${fmt(l?.median_ms)} ms`, l?.median_ms <= 5);
    const a = v(`ours/${world}`, "overhead-step-1");
    const b = v(`ours/${world}`, "overhead-step-1000");
    add(
      `step cost does not grow with history, ${world}: overhead-step-1000 ≤ 1.5 × overhead-step-1`,
      a && b,
      `${fmt(a?.median_ms)} → ${fmt(b?.median_ms)} ms`,
      b?.median_ms <= 1.5 * a?.median_ms,
    );
  }
  for (const mode of MODES) {
    const ours = v("ours", `compiler-${mode}-warm`);
    const wdk = v("wdk", `compiler-${mode}-warm`);
    add(
      `compiler ${mode} mode, warm ≤ ½ of @workflow/swc-plugin`,
      ours && wdk && !wdk.skipped ? ours : undefined,
      `${fmt(ours?.median_ms)} vs ${fmt(wdk?.median_ms)} ms per 1,000 lines`,
      ours?.median_ms <= wdk?.median_ms / 2,
    );
    const cold = v("ours", `compiler-${mode}-cold`);
    add(
      `compiler ${mode} mode, first call ≤ 100 ms`,
      cold,
      `${fmt(cold?.median_ms)} ms`,
      cold?.median_ms <= 100,
    );
  }
  return rows;
}

export function renderMarkdown(res) {
  const runs = res.settings?.runs;
  const results = res.results;
  const m = res.machine ?? {};
  const columns = COLUMNS.filter((c) => WORKLOADS.some((w) => find(results, c, w)));
  const lines = [
    "# Benchmark results",
    "",
    `One run of \`npm run bench\` on ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, Node ${m.node}, ${res.date}` +
      `${m.loadavg ? `; load average at the start ${m.loadavg.join(", ")}` : ""}.`,
    `Every system gets a warm-up and the same ${runs} measured run${runs === 1 ? "" : "s"} per workload (\`return-latency\`: ${Math.max(runs ?? 0, 10)}); ` +
      "cells are median (min–max). Regenerate: `node test/bench/peers/install.mjs` once, then `npm run bench` " +
      `(this one took ${Object.entries(res.durations_s ?? {})
        .map(([k, s]) => `${k} ${s < 120 ? `${s} s` : `${Math.round(s / 60)} min`}`)
        .join(", ")}).`,
    "",
    `| workload | ${columns.join(" | ")} |`,
    `|---|${columns.map(() => "---").join("|")}|`,
    ...WORKLOADS.map((w) => `| ${w} | ${columns.map((c) => cell(find(results, c, w), runs)).join(" | ")} |`),
    "",
    "`ours/memory` is the in-memory test world, shown as the engine's floor; it is not a product world.",
    "",
    "## Ratios: ours against each peer, same world kind",
    "",
  ];
  const pairs = [
    ["ours/local", "wdk/local"],
    ["ours/postgres", "wdk/postgres"],
    ["ours/postgres", "dbos/postgres"],
    ["ours/local", "dbos/postgres"],
  ].filter(([, p]) => columns.includes(p));
  lines.push(`| workload | ${pairs.map(([o, p]) => `${o} vs ${p}`).join(" | ")} |`);
  lines.push(`|---|${pairs.map(() => "---").join("|")}|`);
  for (const w of WORKLOADS)
    lines.push(
      `| ${w} | ${pairs.map(([o, p]) => ratioText(ratio(find(results, o, w), find(results, p, w)))).join(" | ")} |`,
    );
  lines.push(
    "",
    "DBOS has no embedded world; the last column compares our default (local) world with DBOS on Postgres.",
    "",
    "## Targets (DESIGN §8)",
    "",
    "| target | measured | |",
    "|---|---|---|",
    ...checkTargets(results).map(
      (t) => `| ${t.target} | ${t.measured} | ${t.met === undefined ? "—" : t.met ? "met" : "**missed**"} |`,
    ),
    "",
  );

  lines.push("## Compiler: ours against `@workflow/swc-plugin` (WDK)", "");
  const file = res.compiler_file;
  const swc = res.versions?.swc;
  if (file)
    lines.push(
      `The same generated file (${file.lines} lines, ${file.bytes?.toLocaleString("en")} bytes; 20 workflows, 60 steps of which 20 nested) ` +
        `per mode. WDK: \`@workflow/swc-plugin\` ${swc?.["@workflow/swc-plugin"] ?? "?"} on the \`@swc/core\` it pins ` +
        `(${swc?.["@swc/core"] ?? "?"}), called as WDK's builders call it (async \`transform\`, TypeScript parser, ` +
        "`jsc.experimental.plugins: [[plugin, { mode }]]`, no source map); it strips types and prints the module. Ours " +
        "edits the original text and returns a source map (its default). Warm: ms per 1,000 lines, median (min–max) of " +
        `${res.results.find((r) => r.workload === "compiler-workflow-warm")?.runs ?? "?"} calls after 30 unmeasured; ` +
        `cold: the first call in a fresh process (import not included), ${runs} fresh process${runs === 1 ? "" : "es"}, ms for the whole file.`,
      "",
    );
  lines.push(
    "| mode | ours warm | WDK warm | ratio | ours cold | WDK cold (plugin cache on disk) | WDK cold (first build, no cache) | ratio |",
    "|---|---|---|---|---|---|---|---|",
  );
  for (const mode of MODES) {
    const ow = find(results, "ours", `compiler-${mode}-warm`);
    const ww = find(results, "wdk", `compiler-${mode}-warm`);
    const oc = find(results, "ours", `compiler-${mode}-cold`);
    const wc = find(results, "wdk", `compiler-${mode}-cold`);
    const c = (r) =>
      !r ? "—" : r.skipped ? "skipped" : `${fmt(r.median_ms)} (${fmt(r.min_ms)}–${fmt(r.max_ms)})`;
    const nc = wc?.without_plugin_cache ? c(wc.without_plugin_cache) : "—";
    lines.push(
      `| ${mode} | ${c(ow)} | ${c(ww)} | ${ratioText(ratio(ow, ww))} | ${c(oc)} | ${c(wc)} | ${nc} | ${ratioText(ratio(oc, wc))} |`,
    );
  }
  const swcSkipped = results.find(
    (r) => r.system === "wdk" && r.workload.startsWith("compiler-") && r.skipped,
  );
  if (swcSkipped) lines.push("", `WDK's plugin was not measured: ${swcSkipped.skipped}.`);
  if (file?.found?.wdk)
    lines.push(
      "",
      `Manifest check: ours lists ${file.found.ours?.workflows} workflows and ${file.found.ours?.steps} steps; ` +
        `WDK's plugin ${file.found.wdk.workflows} workflows and ${file.found.wdk.steps} steps (in workflow mode).`,
    );

  lines.push(
    "",
    "## Step-to-step overhead by step index",
    "",
    "![Step-to-step gap by step index, log scale](step-gap.svg)",
    "",
    "The gap between the end of one step body and the start of the next, step by step, median over the measured " +
      "runs of the longest sequential workload each system ran (1,000 steps; 100 where 1,000 was skipped), drawn as " +
      "the median of log-spaced bins of steps (single steps at first, ~100-step bins near step 1,000). Both axes log scale.",
    "",
    "## How the figures are taken",
    "",
    "- Every system runs the same workload loop (`test/bench/peers/workloads.mjs`): ours through the engine in-process, " +
      "DBOS in-process, WDK inside its Nitro server (the process that runs its steps). Each workload group " +
      "(sequential, burst-100x3, burst-1000x3) runs in a fresh process, after a warm-up of the whole stack (20 runs of 5 " +
      "steps; 3 runs for WDK, whose every run waits ~1 s for its result poll); then each workload gets one warm-up run " +
      "and the measured runs (the warm-up of `sequential-1000` is a 100-step run, and that of `burst-1000x3` a 100-run " +
      "burst: both load the same code paths at a fraction of the cost).",
    "- `overhead-step-1` / `-1000`: per measured run, the median gap over the first / last 100 steps of the 1,000-step runs.",
    "- `return-latency`: from the last step body of a 3-step run to the caller's `await` resuming, for every system " +
      "(ours also from the world's completion notification: `from_completion_notification` in results.json).",
    "- `peak-rss-mib`: the peak RSS of the process running the burst-100x3 group (every group's peak is in results.json " +
      "under `peak_rss_by_group`); Postgres's own memory is not counted.",
    `- WDK measures fewer workloads: \`sequential-1000\` (and with it \`overhead-step-1000\`) is skipped when 1,000 steps, ` +
      `projected from the step gaps of its 100-step runs, would exceed ${res.settings?.max_run_s ?? 120} s per run ` +
      "(its cost per step grows with the run's history); what it does measure gets the same number of runs as the others.",
  );
  const skipped = results.filter((r) => r.skipped && !r.workload.startsWith("compiler-"));
  if (skipped.length) {
    lines.push("", "Skipped:", "");
    for (const r of skipped) lines.push(`- ${r.system}/${r.world} \`${r.workload}\`: ${r.skipped}`);
  }
  const failed = [...results.filter((r) => r.error), ...(res.errors ?? [])];
  if (failed.length) {
    lines.push("", "Errors in this run:", "");
    for (const r of failed)
      lines.push(
        `- ${[r.suite, r.system, r.world, r.workload].filter(Boolean).join(" ")}: ${String(
          r.error ?? r.skipped,
        )
          .split("\n")[0]
          .slice(0, 300)}`,
      );
  }
  lines.push("");
  return lines.join("\n");
}

export function writeReport(run, outDir = here) {
  const res = buildResults(run);
  writeFileSync(path.join(outDir, "results.json"), `${JSON.stringify(res, null, 2)}\n`);
  renderFiles(res, outDir);
  return res;
}

function renderFiles(res, outDir) {
  writeFileSync(path.join(outDir, "RESULTS.md"), renderMarkdown(res));
  writeFileSync(path.join(outDir, "step-gap.svg"), renderStepGapSvg(res.step_gaps));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const at = args.indexOf("--out-dir");
  const outDir = at === -1 ? here : path.resolve(args[at + 1]);
  const positional = args.filter((a, i) => !a.startsWith("--") && args[i - 1] !== "--out-dir");
  if (args.includes("--from-results")) {
    renderFiles(JSON.parse(readFileSync(positional[0] ?? path.join(outDir, "results.json"), "utf8")), outDir);
    console.log(`wrote RESULTS.md and step-gap.svg to ${outDir}`);
  } else {
    const res = writeReport(
      JSON.parse(readFileSync(positional[0] ?? path.join(outDir, "last-run.json"), "utf8")),
      outDir,
    );
    console.log(`wrote results.json (${res.results.length} rows), RESULTS.md and step-gap.svg to ${outDir}`);
  }
}
