#!/usr/bin/env node
/**
 * Engine benchmark (DESIGN §8). Plain Node against the BUILT packages (`npx tsc -p runtime/world`,
 * `runtime/world-local`, `runtime/core` first); prints one JSON document to stdout. Not a timed test.
 *
 *   node test/bench/engine/run.mjs            all workloads, memory world and (if built) the local world
 *   node test/bench/engine/run.mjs --world memory
 *
 * Each workload group runs in its own child process so that peak RSS belongs to that workload alone.
 * Workflow and step code are written by hand following the ABI (runtime/core/src/sandbox/abi.ts), so the
 * figures measure the engine and the world, not the compiler.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";

const SELF = fileURLToPath(import.meta.url);
const BENCH_DATA_ROOT = join(dirname(SELF), "..", ".data");
mkdirSync(BENCH_DATA_ROOT, { recursive: true });
const args = process.argv.slice(2);
const flag = (name) => {
  const i = args.indexOf(name);
  return i === -1 ? undefined : args[i + 1];
};

const BUNDLE = `(() => {
  const step = (id) => (...a) => globalThis[Symbol.for("wfkit.useStep")](id)(...a);
  const registry = (globalThis[Symbol.for("wfkit.workflows")] ??= new Map());
  registry.set("workflow//./bench//sequential", async function sequential(n) {
    let acc = 0;
    for (let i = 0; i < n; i++) acc = await step("step//./bench//tick")(acc);
    return acc;
  });
  registry.set("workflow//./bench//three", async function three(x) {
    const a = await step("step//./bench//tick")(x);
    const b = await step("step//./bench//tick")(a);
    return step("step//./bench//tick")(b);
  });
})();`;

const stepTimes = [];
let recordSteps = false;

function registerSteps() {
  globalThis[Symbol.for("wfkit.steps")] ??= new Map();
  globalThis[Symbol.for("wfkit.steps")].set("step//./bench//tick", async (x) => {
    if (recordSteps) stepTimes.push(performance.now());
    return x + 1;
  });
}

const codeProvider = {
  async getWorkflowBundle() {
    return { code: BUNDLE, filename: "bench-workflows.js" };
  },
  async loadStep() {},
};

async function openWorld(kind, dir) {
  if (kind === "memory") {
    const { createMemoryWorld } = await import("@wfkit/world");
    return createMemoryWorld();
  }
  if (kind === "postgres") {
    // A fresh schema per workload group, dropped afterwards (see child()).
    const { createPostgresWorld } = await import("@wfkit/world-postgres");
    return createPostgresWorld({ url: process.env.WORKFLOW_POSTGRES_URL, schema: dir });
  }
  const { createLocalWorld } = await import("@wfkit/world-local");
  return createLocalWorld({ dataDir: dir });
}

async function dropSchema(schema) {
  const { default: pg } = await import("pg");
  const client = new pg.Client({ connectionString: process.env.WORKFLOW_POSTGRES_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await client.end();
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? undefined : s[Math.floor(s.length / 2)];
};
const round = (x, d = 3) => (x === undefined ? undefined : Math.round(x * 10 ** d) / 10 ** d);
const peakRssMiB = () => round(process.resourceUsage().maxRSS / 1024, 1);

async function child(kind, group) {
  // The data directory lives beside the project, as `.workflow-data/` does in an app: on this machine `/tmp`
  // creates files ~20× slower than the project's disk, which would measure the temp folder, not the world.
  const dir =
    kind === "local"
      ? mkdtempSync(join(BENCH_DATA_ROOT, "local-"))
      : kind === "postgres"
        ? `wf_bench_${process.pid}`
        : undefined;
  try {
    const core = await import("@wfkit/core");
    const world = await openWorld(kind, dir);
    registerSteps();
    const engine = new core.Engine({
      world,
      codeProvider,
      onError: (e) => console.error(e),
      ...(process.env.BENCH_MAX_ACTIVE_RUNS
        ? { maxActiveRuns: Number(process.env.BENCH_MAX_ACTIVE_RUNS) }
        : {}),
    });
    const run = async (name, input) => new core.Run(await engine.start(name, [input]), engine);

    // Warm-up: compile the bundle, JIT the engine paths.
    for (let i = 0; i < 20; i++) await (await run("workflow//./bench//sequential", 5)).returnValue;

    const out = {};
    if (group === "sequential") {
      for (const n of [1, 10, 100, 1000]) {
        const reps = n === 1000 ? 3 : 10;
        const times = [];
        for (let r = 0; r < reps; r++) {
          const t0 = performance.now();
          const value = await (await run("workflow//./bench//sequential", n)).returnValue;
          times.push(performance.now() - t0);
          if (value !== n) throw new Error(`sequential(${n}) returned ${value}`);
        }
        out[`sequential_${n}_ms`] = round(median(times));
      }
      // Time to first step, and the step-to-step gap early vs late in a 1,000-step run.
      const firsts = [];
      for (let r = 0; r < 10; r++) {
        stepTimes.length = 0;
        recordSteps = true;
        const t0 = performance.now();
        await (await run("workflow//./bench//sequential", 1)).returnValue;
        recordSteps = false;
        firsts.push(stepTimes[0] - t0);
      }
      out.time_to_first_step_ms = round(median(firsts));
      // Median gap between consecutive step bodies over the first and the last 100 steps of 1,000-step runs.
      const early = [];
      const late = [];
      const before = engine.stats.replays;
      for (let r = 0; r < 3; r++) {
        stepTimes.length = 0;
        recordSteps = true;
        await (await run("workflow//./bench//sequential", 1000)).returnValue;
        recordSteps = false;
        const gaps = stepTimes.slice(1).map((t, i) => t - stepTimes[i]);
        early.push(...gaps.slice(0, 100));
        late.push(...gaps.slice(-100));
      }
      out.step_gap_first_100_ms = round(median(early));
      out.step_gap_last_100_ms = round(median(late));
      out.replays_on_fast_path = engine.stats.replays - before;
      // returnValue latency: from the commit of run_completed (the world's synchronous notification) to
      // the caller's await resuming; and for a run that already ended.
      const lat = [];
      const after = [];
      for (let r = 0; r < 20; r++) {
        const handle = await run("workflow//./bench//sequential", 3);
        let finishedAt;
        const unsub = world.subscribe((n) => {
          if (n.kind === "finished") finishedAt ??= performance.now();
        }, handle.runId);
        await handle.returnValue;
        const resumed = performance.now();
        unsub();
        lat.push(resumed - finishedAt);
        const t0 = performance.now();
        await handle.returnValue;
        after.push(performance.now() - t0);
      }
      out.return_value_latency_ms = round(median(lat));
      out.return_value_on_ended_run_ms = round(median(after));
    } else {
      const n = Number(group.replace("burst", ""));
      const t0 = performance.now();
      const handles = await Promise.all(
        Array.from({ length: n }, (_, i) => run("workflow//./bench//three", i)),
      );
      const values = await Promise.all(handles.map((h) => h.returnValue));
      const ms = performance.now() - t0;
      if (values.some((v, i) => v !== i + 3)) throw new Error("burst returned wrong values");
      out[`burst_${n}_ms`] = round(ms);
      out[`burst_${n}_runs_per_s`] = Math.round((n / ms) * 1000);
    }
    out.peak_rss_mib = peakRssMiB();
    out.stats = { ...engine.stats };
    engine.close();
    await world.close();
    process.stdout.write(`${JSON.stringify(out)}\n`);
  } finally {
    if (kind === "postgres") await dropSchema(dir);
    else if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

function runChild(kind, group) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [...process.execArgv, SELF, "--child", kind, "--group", group], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let text = "";
    p.stdout.on("data", (d) => {
      text += d;
    });
    p.on("exit", (code) => {
      if (code !== 0) reject(new Error(`bench child ${kind}/${group} exited with ${code}`));
      else resolve(JSON.parse(text.trim().split("\n").at(-1)));
    });
  });
}

async function localWorldAvailable() {
  try {
    const mod = await import("@wfkit/world-local");
    return typeof mod.createLocalWorld === "function";
  } catch {
    return false;
  }
}

async function main() {
  const only = flag("--world");
  // Postgres runs when WORKFLOW_POSTGRES_URL names a server (e.g. postgres://postgres@127.0.0.1:5432/test).
  const worlds = only
    ? [only]
    : [
        "memory",
        ...((await localWorldAvailable()) ? ["local"] : []),
        ...(process.env.WORKFLOW_POSTGRES_URL ? ["postgres"] : []),
      ];
  const results = {};
  for (const kind of worlds) {
    results[kind] = {};
    for (const group of ["sequential", "burst100", "burst1000"]) {
      Object.assign(results[kind], { [group]: await runChild(kind, group) });
    }
  }
  let commit;
  try {
    commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
  } catch {}
  const cpus = os.cpus();
  const report = {
    benchmark: "engine",
    date: new Date().toISOString(),
    commit,
    machine: {
      node: process.version,
      platform: `${os.platform()} ${os.release()}`,
      cpu: cpus[0]?.model,
      cores: cpus.length,
      memoryGiB: round(os.totalmem() / 2 ** 30, 1),
    },
    targets: {
      sequential_100_ms: "<= 30",
      runs_per_s: ">= 2000",
      return_value_latency_ms: "<= 5",
      peak_rss_mib: "<= 150",
      step_gap: "flat (first ≈ last)",
    },
    results,
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

if (flag("--child")) await child(flag("--child"), flag("--group"));
else await main();
