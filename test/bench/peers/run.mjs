#!/usr/bin/env node
/**
 * Runs both peers one after the other (never at once: they would measure each other) and prints one JSON document
 * in the results.json shape of issue 8: { machine, date, versions, results: [{ system, world, workload, runs,
 * median_ms, min_ms, max_ms }] }. Flags pass through to dbos.mjs and wdk.mjs (--runs, --budget-s, --max-run-s,
 * --groups). `peak-rss-mib` is the burst-100x3 group's peak RSS, in MiB, in the *_ms fields (as the table
 * lists it among the workloads); every group's peak is kept under `peak_rss_by_group`.
 */
import { join } from "node:path";
import { HERE, runChildJson } from "./common.mjs";

const passThrough = process.argv.slice(2);
const out = {
  machine: undefined,
  date: new Date().toISOString(),
  versions: {},
  results: [],
  peak_rss_by_group: [],
};
for (const peer of ["dbos", "wdk"]) {
  let lines;
  try {
    lines = await runChildJson(join(HERE, `${peer}.mjs`), passThrough);
  } catch (e) {
    out.results.push({ system: peer, error: String(e.message ?? e) });
    continue;
  }
  for (const line of lines) {
    if (line.machine) {
      out.machine ??= line.machine;
      out.versions[peer] = line.versions;
      out.loadavg_at_start ??= {};
      out.loadavg_at_start[peer] = line.machine.loadavg;
    } else if (line.workload === "peak-rss-mib") {
      out.peak_rss_by_group.push(line);
      if (line.group === "burst-100x3") {
        const { value, group, ...rest } = line;
        out.results.push({
          ...rest,
          runs: 1,
          median_ms: value,
          min_ms: value,
          max_ms: value,
          unit: "MiB",
          group,
        });
      }
    } else out.results.push(line);
  }
}
process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
