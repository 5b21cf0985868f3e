// On-demand checks of the report and the chart (not part of `npm test`, like the rest of the benchmark):
//   node --test test/bench/
import assert from "node:assert/strict";
import { test } from "node:test";
import { buildResults, checkTargets, ratio, renderMarkdown } from "./report.mjs";
import { binMedians, renderStepGapSvg } from "./step-gap-chart.mjs";

const row = (system, world, workload, median, extra = {}) => ({
  system,
  world,
  workload,
  runs: 3,
  median_ms: median,
  min_ms: median * 0.9,
  max_ms: median * 1.2,
  ...extra,
});

const run = {
  machine: { cores: 2, cpu: "Test CPU", memoryGiB: 8, node: "v20.0.0", loadavg: [0.1, 0.2, 0.3] },
  date: "2026-01-01T00:00:00.000Z",
  settings: { runs: 3, max_run_s: 120 },
  durations_s: { engine: 30, peers: 600 },
  suites: {
    engine: {
      results: [
        row("ours", "local", "sequential-100", 20),
        row("ours", "local", "burst-100x3", 50, { runs_per_s: 2000 }),
        row("ours", "local", "overhead-step-1", 0.1),
        row("ours", "local", "overhead-step-1000", 0.1, { gaps_by_step_ms: [0.1, 0.1, 0.2] }),
        row("ours", "postgres", "sequential-100", 150),
      ],
    },
    peers: {
      versions: { wdk: { workflow: "4.8.9" } },
      results: [
        row("wdk", "local", "sequential-100", 4000),
        row("wdk", "local", "burst-100x3", 5000, { runs_per_s: 20 }),
        { system: "wdk", world: "local", workload: "sequential-1000", skipped: "projected 300 s per run" },
        {
          system: "wdk",
          world: "local",
          workload: "overhead-step-1000",
          skipped: "sequential-1000 was skipped",
          gaps_by_step_ms: [20, 30],
        },
        row("dbos", "postgres", "sequential-100", 200),
      ],
    },
    compiler: {
      file: { lines: 1000, bytes: 40000, found: {} },
      versions: { "@workflow/swc-plugin": "4.1.3", "@swc/core": "1.15.3" },
      results: [
        row("ours", undefined, "compiler-workflow-warm", 4, { unit: "ms per 1,000 lines" }),
        row("wdk", undefined, "compiler-workflow-warm", 10, { unit: "ms per 1,000 lines" }),
        row("ours", undefined, "compiler-workflow-cold", 150, { unit: "ms (first call, whole file)" }),
      ],
    },
  },
};

test("results.json keeps the issue's row shape and moves step-gap series out of the rows", () => {
  const res = buildResults(run);
  assert.deepEqual(Object.keys(res.step_gaps).sort(), ["ours/local", "wdk/local"]);
  assert.ok(res.results.every((r) => !("gaps_by_step_ms" in r)));
  assert.equal(res.results.find((r) => r.workload === "compiler-workflow-warm").world, null);
  assert.deepEqual(res.versions.swc, { "@workflow/swc-plugin": "4.1.3", "@swc/core": "1.15.3" });
});

test("ratios say how many times better ours is: lower time wins, higher throughput wins", () => {
  const r = buildResults(run).results;
  const get = (s, w, k) => r.find((x) => x.system === s && x.world === w && x.workload === k);
  assert.equal(ratio(get("ours", "local", "sequential-100"), get("wdk", "local", "sequential-100")), 200);
  assert.equal(ratio(get("ours", "local", "burst-100x3"), get("wdk", "local", "burst-100x3")), 100);
  assert.equal(
    ratio(get("ours", "postgres", "sequential-100"), get("dbos", "postgres", "sequential-100")),
    200 / 150,
  );
  assert.equal(
    ratio(get("ours", "local", "sequential-100"), get("wdk", "local", "sequential-1000")),
    undefined,
  );
});

test("targets are met or missed from the medians, and unmeasured ones say so", () => {
  const t = Object.fromEntries(checkTargets(buildResults(run).results).map((x) => [x.target, x]));
  assert.equal(t["sequential-100, local ≤ 30 ms"].met, true);
  assert.equal(t["sequential-100, postgres ≤ 120 ms"].met, false);
  assert.equal(t["burst-100x3, local ≥ 2,000 runs/s"].met, true);
  assert.equal(t["burst-100x3, postgres ≥ 500 runs/s"].measured, "not measured");
  assert.equal(t["compiler workflow mode, warm ≤ ½ of @workflow/swc-plugin"].met, true);
  assert.equal(t["compiler workflow mode, first call ≤ 100 ms"].met, false);
});

test("RESULTS.md has the table, the ratios against each peer, the targets and the chart", () => {
  const md = renderMarkdown(buildResults(run));
  assert.match(md, /\| sequential-100 \| 20 ms \(18–24\) \| 150 ms \(135–180\) \| 4,000 ms/);
  assert.match(
    md,
    /\| sequential-100 \| \*\*200× better\*\* \| \*\*1\.3× better\*\* \| \*\*10× better\*\* \|/,
  );
  assert.match(md, /\| sequential-100, postgres ≤ 120 ms \| 150 ms \| \*\*missed\*\* \|/);
  assert.match(md, /\| workflow \| 4 \(3\.6–4\.8\) \| 10 \(9–12\) \| \*\*2\.5× better\*\* \|/);
  assert.match(md, /!\[[^\]]+\]\(step-gap\.svg\)/);
  assert.match(md, /wdk\/local `sequential-1000`: projected 300 s per run/);
});

test("bins are single steps first, then log-spaced, each the median of its gaps", () => {
  const gaps = Array.from({ length: 999 }, (_, i) => i + 1);
  const points = binMedians(gaps);
  assert.deepEqual(
    points.slice(0, 3).map((p) => p.step),
    [1, 2, 3],
  );
  assert.ok(points.length < 40, `${points.length} bins`);
  assert.ok(points.every((p, i) => i === 0 || p.step > points[i - 1].step));
  const last = points.at(-1);
  assert.ok(last.ms > 800 && last.ms < 999, `last bin median ${last.ms}`);
});

test("the chart has one line per series, a larger gap drawn higher, and is stable for the same figures", () => {
  const series = { "ours/local": Array(999).fill(0.1), "wdk/local": Array(99).fill(30) };
  const svg = renderStepGapSvg(series);
  assert.equal(svg, renderStepGapSvg(series));
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  const lines = [...svg.matchAll(/<polyline [^>]*points="([^"]+)"/g)].map((m) =>
    m[1].split(" ").map((p) => p.split(",").map(Number)),
  );
  assert.equal(lines.length, 2);
  const [ours, wdk] = lines;
  assert.ok(wdk[0][1] < ours[0][1], "WDK's 30 ms line is above ours (SVG y grows downwards)");
  assert.ok(ours.at(-1)[0] > wdk.at(-1)[0], "ours reaches further along the step axis");
  assert.match(svg, /wdk\/local, 100 steps/);
});

test("the Redis world gets its own column beside the other worlds of ours", () => {
  const withRedis = structuredClone(run);
  withRedis.suites.engine.results.push(row("ours", "redis", "sequential-100", 60));
  const md = renderMarkdown(buildResults(withRedis));
  assert.match(md, /\| workload \| ours\/local \| ours\/postgres \| ours\/redis \| wdk\/local \|/);
  assert.match(
    md,
    /\| sequential-100 \| 20 ms \(18–24\) \| 150 ms \(135–180\) \| 60 ms \(54–72\) \| 4,000 ms/,
  );
});
