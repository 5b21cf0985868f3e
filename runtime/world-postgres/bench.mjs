// Micro-benchmark of the Postgres world's storage path (not a test; run by hand):
//   npm run build -w @wfkit/world -w @wfkit/world-postgres
//   WORKFLOW_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test node runtime/world-postgres/bench.mjs
// Each workload runs in a fresh schema that is dropped afterwards.
import { randomBytes } from "node:crypto";
import os from "node:os";
import pg from "pg";
import { createPostgresWorld } from "./dist/index.js";

const url = process.env.WORKFLOW_POSTGRES_URL;
if (!url) throw new Error("Set WORKFLOW_POSTGRES_URL to run the benchmark.");

async function withWorld(opts, fn) {
  const schema = `wf_bench_${randomBytes(4).toString("hex")}`;
  const world = await createPostgresWorld({ url, schema, ...opts });
  try {
    return await fn(world);
  } finally {
    await world.close();
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query(`DROP SCHEMA "${schema}" CASCADE`);
    await c.end();
  }
}

const step = (id) => ({
  type: "step_created",
  correlationId: id,
  data: { stepName: "step//./b//s", input: "[1]" },
});

async function singleRunAppends(world, n) {
  const { run } = await world.createRun({ workflowName: "wf", input: "[]" });
  let seq = 1;
  for (let i = 0; i < 100; i++) seq = (await world.append(run.runId, seq, [step(`warm${i}`)])).run.lastSeq;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) seq = (await world.append(run.runId, seq, [step(`s${i}`)])).run.lastSeq;
  const ms = performance.now() - t0;
  return {
    appends: n,
    ms: +ms.toFixed(1),
    appendsPerSec: Math.round((n / ms) * 1000),
    usPerAppend: Math.round((ms / n) * 1000),
  };
}

/** What the engine writes for 100 sequential inline steps: start, then per step one append holding the
 * previous step's completion and the next step's creation and start, then the run's completion. */
async function sequentialSteps(world, steps) {
  const t0 = performance.now();
  const { run } = await world.createRun({ workflowName: "wf", input: "[]" });
  let seq = (
    await world.append(run.runId, 1, [
      { type: "run_started" },
      step("s0"),
      { type: "step_started", correlationId: "s0", data: { attempt: 1 } },
    ])
  ).run.lastSeq;
  for (let i = 1; i < steps; i++) {
    seq = (
      await world.append(run.runId, seq, [
        { type: "step_completed", correlationId: `s${i - 1}`, data: { output: "1" } },
        step(`s${i}`),
        { type: "step_started", correlationId: `s${i}`, data: { attempt: 1 } },
      ])
    ).run.lastSeq;
  }
  await world.append(run.runId, seq, [
    { type: "step_completed", correlationId: `s${steps - 1}`, data: { output: "1" } },
    { type: "run_completed", data: { output: "1" } },
  ]);
  return { steps, ms: +(performance.now() - t0).toFixed(1) };
}

async function concurrentRuns(world, total, concurrency) {
  let next = 0;
  const one = async () => {
    const { run } = await world.createRun({ workflowName: "wf", input: "[]" });
    let seq = (
      await world.append(run.runId, 1, [
        { type: "run_started" },
        step("a"),
        { type: "step_started", correlationId: "a", data: { attempt: 1 } },
      ])
    ).run.lastSeq;
    seq = (
      await world.append(run.runId, seq, [
        { type: "step_completed", correlationId: "a", data: { output: "1" } },
        step("b"),
        { type: "step_started", correlationId: "b", data: { attempt: 1 } },
      ])
    ).run.lastSeq;
    await world.append(run.runId, seq, [
      { type: "step_completed", correlationId: "b", data: { output: "1" } },
      { type: "run_completed", data: { output: "1" } },
    ]);
  };
  const worker = async () => {
    while (next < total) {
      next++;
      await one();
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const ms = performance.now() - t0;
  return { runs: total, concurrency, ms: +ms.toFixed(1), runsPerSec: Math.round((total / ms) * 1000) };
}

const results = {
  machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version },
  runs: [],
};
for (const synchronousCommit of ["on", "off"]) {
  const opts = { synchronousCommit, poolSize: 10 };
  results.runs.push({
    synchronousCommit,
    singleRunAppends: await withWorld(opts, (w) => singleRunAppends(w, 2000)),
    sequentialSteps100: await withWorld(opts, async (w) => {
      await sequentialSteps(w, 20); // warm-up
      return sequentialSteps(w, 100);
    }),
    concurrent50: await withWorld(opts, async (w) => {
      await concurrentRuns(w, 100, 50); // warm-up
      return concurrentRuns(w, 1000, 50);
    }),
  });
}
console.log(JSON.stringify(results, null, 2));
