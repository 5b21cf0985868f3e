// Micro-benchmark of the SQLite world's storage path (not a test; run by hand):
//   npx turbo run build --filter=@wfkit/world-sqlite
//   node runtime/world-sqlite/bench.mjs [--only single,sequential,burst,contention]
// Each workload gets a fresh database file in a temporary folder beside this script (the project's disk, as an
// app's `.workflow-data/` would be). Prints one JSON document.
import { fork } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { createSqliteWorld } from "./dist/index.js";

const here = dirname(fileURLToPath(import.meta.url));
const step = (id) => ({
  type: "step_created",
  correlationId: id,
  data: { stepName: "step//./b//s", input: "[1]" },
});

async function withWorld(opts, fn) {
  const dir = mkdtempSync(join(here, ".bench-"));
  const world = await createSqliteWorld({ path: join(dir, "workflow.db"), ...opts });
  try {
    return await fn(world, join(dir, "workflow.db"));
  } finally {
    await world.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function singleRunAppends(world, n) {
  const { run } = await world.createRun({ workflowName: "wf", input: "[]" });
  let seq = 1;
  for (let i = 0; i < 200; i++) seq = (await world.append(run.runId, seq, [step(`warm${i}`)])).run.lastSeq;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) seq = (await world.append(run.runId, seq, [step(`s${i}`)])).run.lastSeq;
  const ms = performance.now() - t0;
  return { appends: n, ms: +ms.toFixed(1), usPerAppend: Math.round((ms / n) * 1000) };
}

/** What the engine writes for `steps` sequential inline steps (see the Postgres world's bench). */
async function sequentialSteps(world, steps) {
  const times = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    const { run } = await world.createRun({ workflowName: "wf", input: "[]" });
    let seq = (
      await world.append(run.runId, 1, [
        { type: "run_started" },
        step("step_0001"),
        { type: "step_started", correlationId: "step_0001", data: { attempt: 1 } },
      ])
    ).run.lastSeq;
    for (let i = 1; i < steps; i++) {
      const prev = `step_${String(i).padStart(4, "0")}`;
      const next = `step_${String(i + 1).padStart(4, "0")}`;
      seq = (
        await world.append(run.runId, seq, [
          { type: "step_completed", correlationId: prev, data: { output: "1" } },
          step(next),
          { type: "step_started", correlationId: next, data: { attempt: 1 } },
        ])
      ).run.lastSeq;
    }
    await world.append(run.runId, seq, [{ type: "run_completed", data: { output: "1" } }]);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { steps, medianMs: +times[2].toFixed(1), minMs: +times[0].toFixed(1) };
}

async function burst(world, runs, concurrency) {
  const one = async () => {
    const { run } = await world.createRun({ workflowName: "wf", input: "[]" });
    let seq = (await world.append(run.runId, 1, [{ type: "run_started" }, step("a")])).run.lastSeq;
    seq = (await world.append(run.runId, seq, [step("b")])).run.lastSeq;
    await world.append(run.runId, seq, [{ type: "run_completed", data: { output: "1" } }]);
  };
  const t0 = performance.now();
  let started = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (started < runs) {
        started++;
        await one();
      }
    }),
  );
  const ms = performance.now() - t0;
  return { runs, concurrency, ms: Math.round(ms), runsPerSec: Math.round((runs / ms) * 1000) };
}

/**
 * Several processes appending to one file at once. Each child drives its own runs and reports its throughput,
 * how many writes found the lock taken, and the event loop's delay (what a blocking busy wait would cost it).
 */
async function contention(processes, busyTimeoutMs) {
  return withWorld({}, async (_world, path) => {
    const children = Array.from({ length: processes }, () =>
      fork(fileURLToPath(import.meta.url), ["--child", path, String(busyTimeoutMs)], { stdio: "pipe" }),
    );
    const results = await Promise.all(
      children.map(
        (c) =>
          new Promise((resolve, reject) => {
            c.on("message", resolve);
            c.on("exit", (code) => code !== 0 && reject(new Error(`child exited ${code}`)));
          }),
      ),
    );
    const appends = results.reduce((a, r) => a + r.appends, 0);
    const ms = Math.max(...results.map((r) => r.ms));
    return {
      processes,
      busyTimeoutMs,
      appendsPerSec: Math.round((appends / ms) * 1000),
      busyRetries: results.reduce((a, r) => a + r.busy, 0),
      eventLoopDelayP99Ms: Math.max(...results.map((r) => r.p99)),
      eventLoopDelayMaxMs: Math.max(...results.map((r) => r.max)),
    };
  });
}

async function child(path, busyTimeoutMs) {
  const world = await createSqliteWorld({ path, busyTimeoutMs: Number(busyTimeoutMs), watch: false });
  const h = monitorEventLoopDelay({ resolution: 1 });
  const runs = await Promise.all(
    Array.from({ length: 20 }, () => world.createRun({ workflowName: "wf", input: "[]" })),
  );
  h.enable();
  const t0 = performance.now();
  let appends = 0;
  await Promise.all(
    runs.map(async ({ run }) => {
      let seq = 1;
      for (let i = 0; i < 150; i++) {
        seq = (await world.append(run.runId, seq, [step(`s${i}`)])).run.lastSeq;
        appends++;
        // An engine does other work between appends (step bodies, I/O): let the event loop turn, so that its
        // delay measures what waiting for the lock costs, not a chain of promises that never yields.
        await new Promise((r) => setImmediate(r));
      }
    }),
  );
  const ms = performance.now() - t0;
  h.disable();
  process.send({
    appends,
    ms,
    busy: world.busyRetries,
    p99: +(h.percentile(99) / 1e6).toFixed(2),
    max: +(h.max / 1e6).toFixed(2),
  });
  await world.close();
}

const argv = process.argv.slice(2);
if (argv[0] === "--child") {
  await child(argv[1], argv[2]);
} else {
  const only = argv[argv.indexOf("--only") + 1]?.split(",") ?? [
    "single",
    "sequential",
    "burst",
    "contention",
  ];
  const out = { machine: { cpus: os.cpus().length, node: process.version }, results: {} };
  for (const sync of ["normal", "full"]) {
    const r = {};
    out.results[`synchronous=${sync}`] = r;
    if (only.includes("single"))
      r.singleRunAppends = await withWorld({ synchronous: sync }, (w) => singleRunAppends(w, 2000));
    if (only.includes("sequential"))
      r.sequential100 = await withWorld({ synchronous: sync }, (w) => sequentialSteps(w, 100));
    if (only.includes("burst"))
      r.burst1000 = await withWorld({ synchronous: sync }, (w) => burst(w, 1000, 50));
  }
  if (only.includes("single")) {
    // The engine always subscribes: the bell rung by each commit then wakes this process's own watcher too.
    out.results.subscribedSingleRunAppends = await withWorld({}, (w) => {
      w.subscribe(() => {});
      return singleRunAppends(w, 2000);
    });
  }
  if (only.includes("contention")) {
    out.results.contention = [];
    // One process alone first: the event-loop delay that the machine's load and the process's own work cause.
    out.results.contention.push(await contention(1, 0));
    for (const busyTimeoutMs of [0, 100]) out.results.contention.push(await contention(3, busyTimeoutMs));
  }
  console.log(JSON.stringify(out, null, 2));
}
