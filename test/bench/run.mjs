#!/usr/bin/env node
/**
 * `npm run bench`: every benchmark, each suite in its own process (so one's heap never skews another's), one
 * after the other (never at once: they would measure each other). Writes last-run.json (the raw JSON of every
 * suite), then report.mjs turns it into results.json, RESULTS.md and step-gap.svg. Not a test: nothing asserts.
 *
 *   node test/bench/run.mjs [--runs 3] [--max-run-s 120] [--groups sequential,burst-100x3,burst-1000x3]
 *                           [--suites engine,compiler,peers] [--peers dbos,wdk] [--iterations 200]
 *                           [--out-dir test/bench]
 *
 * `--runs`: measured runs per workload for every system (after one warm-up), and fresh processes per cold
 * compile. `--out-dir` elsewhere keeps a trial run from overwriting the committed results.
 * Postgres: WORKFLOW_POSTGRES_URL, else postgres://postgres@127.0.0.1:5432/postgres, for ours and the peers alike.
 * Redis (ours only): WORKFLOW_REDIS_URL, else redis://127.0.0.1:6379.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { machineInfo, POSTGRES_URL } from "./peers/common.mjs";
import { writeReport } from "./report.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const known = ["--runs", "--max-run-s", "--groups", "--suites", "--peers", "--iterations", "--out-dir"];
const unknown = argv.filter(
  (a, i) => a.startsWith("-") && !known.includes(a) && !known.includes(argv[i - 1]),
);
if (unknown.length) {
  // Ignoring it would start a benchmark of many minutes with settings the caller did not ask for.
  console.error(
    `unknown flag ${unknown.join(", ")}; the flags are ${known.join(", ")} (see the top of this file)`,
  );
  process.exit(2);
}
const get = (name, fallback) => {
  const i = argv.indexOf(name);
  return i === -1 ? fallback : argv[i + 1];
};
const runs = get("--runs", "3");
const maxRunS = get("--max-run-s", "120");
const groups = get("--groups", "sequential,burst-100x3,burst-1000x3");
const suites = get("--suites", "engine,compiler,peers").split(",");
const peers = get("--peers", "dbos,wdk");
const outDir = path.resolve(get("--out-dir", here));
const shared = ["--runs", runs, "--max-run-s", maxRunS, "--groups", groups];
const commands = {
  engine: ["engine/run.mjs", ...shared],
  compiler: ["compiler/run.mjs", "--runs", runs, "--iterations", get("--iterations", "200")],
  peers: ["peers/run.mjs", ...shared, "--peers", peers],
};

/** Runs one suite; its stderr (progress, warnings) passes through, its stdout is one JSON document. */
function runSuite([script, ...args]) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--expose-gc", path.join(here, script), ...args], {
      stdio: ["ignore", "pipe", "inherit"],
      env: {
        ...process.env,
        WORKFLOW_POSTGRES_URL: POSTGRES_URL,
        WORKFLOW_REDIS_URL: process.env.WORKFLOW_REDIS_URL ?? "redis://127.0.0.1:6379",
      },
    });
    let stdout = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.on("exit", (code) => {
      if (code !== 0) return resolve({ error: `exit ${code}`, stdout: stdout.slice(-4000) });
      try {
        resolve(JSON.parse(stdout));
      } catch {
        resolve({ error: "did not print JSON", stdout: stdout.slice(-4000) });
      }
    });
  });
}

const out = {
  machine: machineInfo(),
  date: new Date().toISOString(),
  settings: {
    runs: Number(runs),
    max_run_s: Number(maxRunS),
    groups: groups.split(","),
    peers: peers.split(","),
  },
  durations_s: {},
  suites: {},
};
for (const name of suites) {
  if (!commands[name]) throw new Error(`unknown suite "${name}"; expected engine, compiler or peers`);
  if (name === "peers" && !existsSync(path.join(here, ".peers"))) {
    out.suites[name] = { skipped: "peers are not installed: run `node test/bench/peers/install.mjs` first" };
    continue;
  }
  const t0 = performance.now();
  console.error(`[bench] ${name} started ${new Date().toISOString()}`);
  out.suites[name] = await runSuite(commands[name]);
  out.durations_s[name] = Math.round((performance.now() - t0) / 1000);
  console.error(
    `[bench] ${name} done in ${out.durations_s[name]} s${out.suites[name].error ? " (failed)" : ""}`,
  );
}
mkdirSync(outDir, { recursive: true });
writeFileSync(path.join(outDir, "last-run.json"), `${JSON.stringify(out, null, 2)}\n`);
writeReport(out, outDir);
console.error(
  `[bench] wrote ${["last-run.json", "results.json", "RESULTS.md", "step-gap.svg"].join(", ")} to ${outDir}`,
);
