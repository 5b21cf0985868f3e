#!/usr/bin/env node
/**
 * Runs both peers one after the other (never at once: they would measure each other) and prints one JSON document
 * in the results.json shape of issue 8: { machine, date, versions, results: [{ system, world, workload, runs,
 * median_ms, min_ms, max_ms }] }. Flags pass through to dbos.mjs and wdk.mjs (--runs, --max-run-s,
 * --groups; `--peers dbos,wdk` selects peers). Peak RSS lines are folded as common.mjs's collectRows describes.
 */
import { join } from "node:path";
import { collectRows, HERE, runChildJson } from "./common.mjs";

// `--peers dbos,wdk` picks which peers run; every other flag passes through.
const argv = process.argv.slice(2);
const peersAt = argv.indexOf("--peers");
const peers = peersAt === -1 ? ["dbos", "wdk"] : argv[peersAt + 1].split(",");
const passThrough = peersAt === -1 ? argv : argv.filter((_, i) => i !== peersAt && i !== peersAt + 1);
const out = {
  machine: undefined,
  date: new Date().toISOString(),
  versions: {},
  results: [],
  peak_rss_by_group: [],
};
for (const peer of peers) {
  let lines;
  try {
    lines = await runChildJson(join(HERE, `${peer}.mjs`), passThrough);
  } catch (e) {
    out.results.push({ system: peer, error: String(e.message ?? e) });
    continue;
  }
  const header = lines.find((l) => l.machine);
  if (header) {
    out.machine ??= header.machine;
    out.versions[peer] = header.versions;
    out.loadavg_at_start ??= {};
    out.loadavg_at_start[peer] = header.machine.loadavg;
  }
  collectRows(out, lines);
}
process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
