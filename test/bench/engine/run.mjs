#!/usr/bin/env node
/**
 * Engine benchmark (DESIGN §8). Plain Node against the BUILT packages (`npx turbo run build` first); prints one
 * JSON document to stdout: { machine, results: [{ system: "ours", world, workload, runs, median_ms, min_ms,
 * max_ms }], peak_rss_by_group }. Not a timed test.
 *
 *   node test/bench/engine/run.mjs [--world memory|local|postgres|sqlite|redis] [--runs 3] [--max-run-s 120]
 *                                  [--groups sequential,burst-100x3,burst-1000x3]
 *
 * The workloads and how they are timed are the peers' (../peers/workloads.mjs): the same loop, the same warm-up
 * and the same number of measured runs for every system. Each workload group runs in its own child process so
 * that peak RSS belongs to that group alone. Workflow and step code are written by hand following the ABI
 * (runtime/core/src/sandbox/abi.ts), so the figures measure the engine and the world, not the compiler.
 * Postgres runs when WORKFLOW_POSTGRES_URL is set, in a fresh schema per group; SQLite in a fresh database file per
 * group (in the bench's data folder, like the local world's); Redis when WORKFLOW_REDIS_URL is set, under a fresh
 * key prefix per group.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { collectRows, flags, machineInfo, runChildJson } from "../peers/common.mjs";
import { peakRssMiB, recordStep, runGroup, summarize } from "../peers/workloads.mjs";

const SELF = fileURLToPath(import.meta.url);
const BENCH_DATA_ROOT = join(dirname(SELF), "..", ".data");
mkdirSync(BENCH_DATA_ROOT, { recursive: true });
const opts = flags();

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

function registerSteps() {
  globalThis[Symbol.for("wfkit.steps")] ??= new Map();
  globalThis[Symbol.for("wfkit.steps")].set("step//./bench//tick", async (x) => {
    recordStep();
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
  if (kind === "sqlite") {
    const { createSqliteWorld } = await import("@wfkit/world-sqlite");
    return createSqliteWorld({ path: join(dir, "workflow.db") });
  }
  if (kind === "redis") {
    // A fresh key prefix per workload group, deleted afterwards (see child()).
    const { createRedisWorld } = await import("@wfkit/world-redis");
    return createRedisWorld({ url: process.env.WORKFLOW_REDIS_URL, prefix: dir, warn: () => {} });
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

const emit = (row) => process.stdout.write(`${JSON.stringify(row)}\n`);

/**
 * Bounds a phase that has no time limit of its own (the measured runs have theirs): a hang there would leave the
 * parent waiting forever, so the group fails instead, saying where it stuck. Returns the function that disarms it.
 */
function watchdog(where, ms, stats) {
  const timer = setTimeout(() => {
    console.error(
      `[engine bench] ${where} did not finish within ${ms / 1000} s; engine stats ${JSON.stringify(stats())}`,
    );
    process.exit(3);
  }, ms);
  return () => clearTimeout(timer);
}

/** One workload group on one world, in this (fresh) process; prints one JSON line per figure. */
async function child(kind, group) {
  // The data directory lives beside the project, as `.workflow-data/` does in an app: on this machine `/tmp`
  // creates files ~20× slower than the project's disk, which would measure the temp folder, not the world.
  const dir =
    kind === "local" || kind === "sqlite"
      ? mkdtempSync(join(BENCH_DATA_ROOT, `${kind}-`))
      : kind === "postgres"
        ? `wf_bench_${process.pid}`
        : kind === "redis"
          ? `wfbench:${process.pid}:`
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
    const name = { sequential: "workflow//./bench//sequential", three: "workflow//./bench//three" };
    const adapter = {
      async start(kind, input) {
        const run = new core.Run(await engine.start(name[kind], [input]), engine);
        return { run, result: () => run.returnValue };
      },
    };

    const stats = () => engine.stats;
    const where = `${kind}/${group}`;

    // Warm-up of the whole stack (compile the bundle, JIT the engine paths), as the peers get.
    let disarm = watchdog(`${where} warm-up`, opts.maxRunMs, stats);
    for (let i = 0; i < 20; i++) await (await adapter.start("sequential", 5)).result();
    disarm();

    const replaysBefore = engine.stats.replays;
    const rows = await runGroup(group, adapter, { runs: opts.runs, maxRunMs: opts.maxRunMs });
    const replays = engine.stats.replays - replaysBefore;
    for (const row of rows) {
      if (row.workload === "overhead-step-1000") row.replays_during_group = replays;
      if (row.workload === "return-latency") {
        // Ours can also be timed from the world's completion notification (the commit of run_completed) to the
        // caller's await resuming: the part of the latency that is about notifying the caller at all.
        const lat = [];
        disarm = watchdog(`${where} return-latency from the completion notification`, opts.maxRunMs, stats);
        for (let r = 0; r < Math.max(opts.runs, 10); r++) {
          const { run } = await adapter.start("sequential", 3);
          let finishedAt;
          const unsub = world.subscribe((n) => {
            if (n.kind === "finished") finishedAt ??= performance.now();
          }, run.runId);
          await run.returnValue;
          // A run that ended before the subscription gives no sample (never seen on these worlds).
          if (finishedAt !== undefined) lat.push(performance.now() - finishedAt);
          unsub();
        }
        disarm();
        row.from_completion_notification = summarize("return-latency-from-notification", lat);
      }
      emit({ system: "ours", world: kind, ...row });
    }
    emit({ system: "ours", world: kind, workload: "peak-rss-mib", group, value: peakRssMiB() });
    emit({ system: "ours", world: kind, workload: "engine-stats", group, stats: { ...engine.stats } });
    disarm = watchdog(`${where} engine.close() and world.close()`, 30_000, stats);
    engine.close();
    await world.close();
    disarm();
  } finally {
    if (kind === "postgres") {
      const disarmDrop = watchdog(`${kind}/${group} DROP SCHEMA ${dir}`, 30_000, () => ({}));
      await dropSchema(dir);
      disarmDrop();
    } else if (kind === "redis") {
      const disarmDelete = watchdog(`${kind}/${group} deleting keys ${dir}*`, 30_000, () => ({}));
      const { deletePrefix } = await import("@wfkit/world-redis/testing");
      await deletePrefix(process.env.WORKFLOW_REDIS_URL, dir);
      disarmDelete();
    } else if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

async function worldAvailable(pkg, factory) {
  try {
    const mod = await import(pkg);
    return typeof mod[factory] === "function";
  } catch {
    return false;
  }
}

async function main() {
  // Postgres runs when WORKFLOW_POSTGRES_URL names a server (e.g. postgres://postgres@127.0.0.1:5432/test).
  const worlds = opts.world
    ? [opts.world]
    : [
        "memory",
        ...((await worldAvailable("@wfkit/world-local", "createLocalWorld")) ? ["local"] : []),
        ...(process.env.WORKFLOW_POSTGRES_URL ? ["postgres"] : []),
        ...((await worldAvailable("@wfkit/world-sqlite", "createSqliteWorld")) ? ["sqlite"] : []),
        // Redis runs when WORKFLOW_REDIS_URL names a server (e.g. redis://127.0.0.1:6379).
        ...(process.env.WORKFLOW_REDIS_URL ? ["redis"] : []),
      ];
  let commit;
  try {
    commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
  } catch {}
  const out = { benchmark: "engine", date: new Date().toISOString(), commit, machine: machineInfo() };
  for (const kind of worlds) {
    for (const group of opts.groups) {
      const args = ["--child", kind, "--group", group, "--runs", String(opts.runs)];
      args.push("--max-run-s", String(opts.maxRunMs / 1000));
      try {
        collectRows(out, await runChildJson(SELF, args, {}, ["--expose-gc"]));
      } catch (e) {
        // One world failing (e.g. Postgres down) should not hide the other worlds' figures.
        out.results.push({ system: "ours", world: kind, workload: group, error: String(e.message ?? e) });
      }
    }
  }
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

if (opts.child) {
  await child(opts.child, opts.group);
  // Everything is closed, so the process should now exit by itself; if something still holds the event loop,
  // say what (the engine or a world leaks a handle) and exit anyway, or the parent would wait forever. Unref'd:
  // this timer alone does not keep the process alive.
  setTimeout(() => {
    const handles = (process._getActiveHandles?.() ?? []).map((h) => h?.constructor?.name ?? typeof h);
    console.error(
      `[engine bench] ${opts.child}/${opts.group}: the process was still alive 5 s after engine.close() and world.close(); active handles: ${handles.join(", ")}`,
    );
    process.exit(0);
  }, 5000).unref();
} else await main();
