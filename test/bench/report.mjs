// Turns the JSON of one `npm run bench` (test/bench/run.mjs) into the committed results:
//   node test/bench/report.mjs [run.json]   → test/bench/results.json and test/bench/RESULTS.md
// Rows follow the shape of issue 8: { system, world, workload, runs, median_ms, min_ms, max_ms }.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const input = JSON.parse(readFileSync(process.argv[2] ?? path.join(here, "last-run.json"), "utf8"));

/** Our engine bench measures each workload once per group; a single measurement is its own median/min/max. */
const once = (system, world, workload, value, extra = {}) =>
  value === undefined
    ? []
    : [{ system, world, workload, runs: 1, median_ms: value, min_ms: value, max_ms: value, ...extra }];

const results = [];
for (const [world, groups] of Object.entries(input.suites.engine?.results ?? {})) {
  const seq = groups.sequential ?? {};
  for (const n of [1, 10, 100, 1000])
    results.push(...once("ours", world, `sequential-${n}`, seq[`sequential_${n}_ms`]));
  results.push(...once("ours", world, "first-step", seq.time_to_first_step_ms));
  results.push(
    ...once("ours", world, "overhead-step-1", seq.step_gap_first_100_ms, {
      note: "median gap over steps 1-100 of 1,000, 3 runs",
    }),
  );
  results.push(
    ...once("ours", world, "overhead-step-1000", seq.step_gap_last_100_ms, {
      note: "median gap over steps 900-1,000 of 1,000, 3 runs",
    }),
  );
  results.push(
    ...once("ours", world, "return-latency", seq.return_value_latency_ms, { note: "median of 20 runs" }),
  );
  for (const n of [100, 1000]) {
    const g = groups[`burst${n}`] ?? {};
    results.push(
      ...once("ours", world, `burst-${n}x3`, g[`burst_${n}_ms`], { runs_per_s: g[`burst_${n}_runs_per_s`] }),
    );
  }
  results.push(
    ...once("ours", world, "peak-rss-mib", groups.burst100?.peak_rss_mib, {
      unit: "MiB",
      group: "burst-100x3",
    }),
  );
}
for (const row of input.suites.peers?.results ?? []) {
  const { gaps_by_step_ms: _gaps, ...rest } = row;
  results.push(rest);
}

const out = {
  machine: input.machine,
  date: input.date,
  versions: { node: input.machine?.node, ...(input.suites.peers?.versions ?? {}) },
  results,
};
writeFileSync(path.join(here, "results.json"), `${JSON.stringify(out, null, 2)}\n`);

// ---- RESULTS.md: one table, every system and world side by side, and our ratio against each peer.
const columns = [...new Set(results.map((r) => `${r.system}/${r.world}`))];
const workloads = [
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
const find = (col, workload) =>
  results.find((r) => `${r.system}/${r.world}` === col && r.workload === workload);
const cell = (r) => {
  if (!r) return "—";
  if (r.skipped) return "skipped";
  const v = r.workload.startsWith("burst")
    ? `${r.runs_per_s} runs/s`
    : r.unit === "MiB"
      ? `${r.median_ms} MiB`
      : `${fmt(r.median_ms)} ms`;
  return r.runs > 1 && r.unit !== "MiB" ? `${v} (${fmt(r.min_ms)}–${fmt(r.max_ms)} ms)` : v;
};
const fmt = (x) => (x >= 100 ? Math.round(x).toLocaleString("en") : String(Math.round(x * 100) / 100));
/** How many times better ours is (>1 is better): time and memory lower is better, throughput higher. */
const ratio = (ours, peer) => {
  if (!ours || !peer || ours.skipped || peer.skipped) return undefined;
  if (ours.workload.startsWith("burst")) return ours.runs_per_s / peer.runs_per_s;
  return peer.median_ms / ours.median_ms;
};
const lines = [
  "# Benchmark results",
  "",
  `One run of \`npm run bench\` on ${input.machine?.cpus ?? input.machine?.cores} cores (${input.machine?.cpu}), ${input.machine?.node}, ${input.date}. ` +
    "Regenerate with `npm run bench > test/bench/last-run.json && node test/bench/report.mjs` (peers: `node test/bench/peers/install.mjs` first).",
  "",
  `| workload | ${columns.join(" | ")} |`,
  `|---|${columns.map(() => "---").join("|")}|`,
  ...workloads.map((w) => `| ${w} | ${columns.map((c) => cell(find(c, w))).join(" | ")} |`),
  "",
  "## Ratios (how many times better ours is; > 1 means ours wins)",
  "",
];
const peers = columns.filter((c) => !c.startsWith("ours/"));
const ourColumn = (peer) => (peer.endsWith("/local") ? "ours/local" : "ours/postgres");
lines.push(`| workload | ${peers.map((p) => `${ourColumn(p)} vs ${p}`).join(" | ")} |`);
lines.push(`|---|${peers.map(() => "---").join("|")}|`);
for (const w of workloads) {
  const cells = peers.map((p) => {
    const r = ratio(find(ourColumn(p), w), find(p, w));
    return r === undefined ? "—" : `${r >= 10 ? Math.round(r) : Math.round(r * 10) / 10}×`;
  });
  lines.push(`| ${w} | ${cells.join(" | ")} |`);
}
lines.push(
  "",
  "Notes: our engine bench measures each `sequential-N` and burst once per run (n = 1), after a warm-up of 20 runs;",
  "the peers take 1 warm-up and up to 5 measured runs (min–max shown). `return-latency` on the peers is measured",
  "from the last step's end to the caller's `await` (they have no completion notification); ours from the run's",
  "completion notification. Peak RSS is the process's own (not Postgres).",
  "",
);
writeFileSync(path.join(here, "RESULTS.md"), lines.join("\n"));
console.log(`wrote results.json (${results.length} rows) and RESULTS.md`);
