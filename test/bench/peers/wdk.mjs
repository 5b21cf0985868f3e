#!/usr/bin/env node
/**
 * Vercel Workflow DevKit (npm `workflow`) on its local world and its Postgres world, the same workloads as our
 * engine benchmark. Prints a first line with machine and versions, then one JSON line per figure:
 * { system: "wdk", world: "local" | "postgres", workload, runs, median_ms, min_ms, max_ms }.
 *
 *   node test/bench/peers/install.mjs wdk      once (installs, then `nitro build`s test/bench/peers/wdk-app)
 *   node test/bench/peers/wdk.mjs [--world local|postgres] [--runs 3] [--max-run-s 120]
 *                                 [--groups sequential,burst-100x3,burst-1000x3]
 *
 * WDK runs as its Nitro guide describes: the built Nitro server (`node .output/server/index.mjs`) hosts the
 * workflows, and the workloads run inside it (route `/bench`, driven over HTTP) because that is the process that
 * executes the steps and holds the memory. One fresh server per group, so peak RSS is the group's own.
 * Local world: data in a fresh folder under test/bench/.data (not /tmp, which is slow to create files here).
 * Postgres world: `WORKFLOW_TARGET_WORLD=@workflow/world-postgres` on a database `wdk_bench`, dropped, recreated
 * and bootstrapped (the package's own `bootstrap` CLI) per group.
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import {
  databaseUrl,
  flags,
  HERE,
  machineLine,
  PEERS_ROOT,
  peerRequire,
  peerVersion,
  printRow,
  recreateDatabase,
} from "./common.mjs";

const APP = join(PEERS_ROOT, "wdk");
const SERVER = join(APP, ".output", "server", "index.mjs");
const DATA_ROOT = join(HERE, "..", ".data");
const DATABASE = "wdk_bench";
const opts = flags();

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Servers alive right now, so an interrupted benchmark does not leave one running. */
const live = new Set();
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    for (const child of live) child.kill("SIGKILL");
    process.exit(130);
  });
}

/** Starts the Nitro server and resolves once it answers HTTP; `stop()` kills exactly that PID. */
async function startServer(env) {
  const port = await freePort();
  const child = spawn(process.execPath, [SERVER], {
    cwd: APP,
    env: { ...process.env, ...env, PORT: String(port), HOST: "127.0.0.1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  live.add(child);
  child.on("exit", () => live.delete(child));
  let log = "";
  const keep = (d) => {
    log = (log + d).slice(-8000);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const exited = new Promise((resolve) => child.on("exit", resolve));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`WDK server exited with ${child.exitCode} while starting:\n${log}`);
    try {
      await fetch(`${base}/`);
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error(`WDK server did not listen on ${base} within 30 s:\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return {
    base,
    log: () => log,
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.exitCode === null && child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function getJson(server, query) {
  // No fetch timeout: the route bounds its own work (a per-run limit); undici's default 5-minute body
  // timeout would cut a long sequential group short.
  const { Agent } = peerRequire("wdk")("undici");
  const res = await fetch(`${server.base}/bench?${new URLSearchParams(query)}`, {
    dispatcher: new Agent({ headersTimeout: 0, bodyTimeout: 0 }),
  });
  const text = await res.text();
  if (!res.ok)
    throw new Error(
      `GET /bench?${new URLSearchParams(query)} → ${res.status}: ${text.slice(0, 2000)}\n${server.log()}`,
    );
  return JSON.parse(text);
}

async function prepareWorld(world) {
  if (world === "local") {
    mkdirSync(DATA_ROOT, { recursive: true });
    const dir = mkdtempSync(join(DATA_ROOT, "wdk-local-"));
    return {
      env: { WORKFLOW_LOCAL_DATA_DIR: dir },
      cleanup: () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const pg = peerRequire("wdk")("pg");
  await recreateDatabase(pg, DATABASE);
  const env = {
    WORKFLOW_TARGET_WORLD: "@workflow/world-postgres",
    WORKFLOW_POSTGRES_URL: databaseUrl(DATABASE),
  };
  execFileSync(
    process.execPath,
    [join(APP, "node_modules", "@workflow", "world-postgres", "bin", "setup.js")],
    {
      cwd: APP,
      env: { ...process.env, ...env },
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
  return { env, cleanup: () => {} };
}

async function runGroupOn(world, group) {
  const prepared = await prepareWorld(world);
  const server = await startServer(prepared.env);
  try {
    // WDK's returnValue polls once a second, so 20 warm-up runs as in the engine benchmark would cost 20 s;
    // 3 are enough to load the bundles and JIT the paths.
    await getJson(server, { warmup: "3" });
    const out = await getJson(server, {
      group,
      runs: String(opts.runs),
      max_run_s: String(opts.maxRunMs / 1000),
    });
    for (const row of out.rows) printRow({ system: "wdk", world, ...row });
    printRow({ system: "wdk", world, workload: "peak-rss-mib", group, value: out.peak_rss_mib });
  } finally {
    await server.stop();
    prepared.cleanup();
  }
}

async function main() {
  if (!existsSync(SERVER)) {
    throw new Error(
      `WDK app is not built (${SERVER} is missing); run: node test/bench/peers/install.mjs wdk`,
    );
  }
  // The server bundles its own copy of workloads.mjs: a stale one would measure with an older loop.
  for (const file of ["workloads.mjs", "server/routes/bench.ts", "workflows/bench.ts"]) {
    const source = join(HERE, file.startsWith("workloads") ? file : `wdk-app/${file}`);
    if (readFileSync(source, "utf8") !== readFileSync(join(APP, file), "utf8"))
      throw new Error(
        `the WDK app was built from an older ${file}; rebuild it: node test/bench/peers/install.mjs wdk`,
      );
  }
  printRow(
    machineLine("wdk", {
      workflow: peerVersion("wdk", "workflow"),
      "@workflow/core": peerVersion("wdk", "@workflow/core"),
      "@workflow/world-local": peerVersion("wdk", "@workflow/world-local"),
      "@workflow/world-postgres": peerVersion("wdk", "@workflow/world-postgres"),
      nitro: peerVersion("wdk", "nitro"),
    }),
  );
  for (const world of opts.world ? [opts.world] : ["local", "postgres"]) {
    for (const group of opts.groups) {
      try {
        await runGroupOn(world, group);
      } catch (e) {
        // One world failing (e.g. no Postgres) should not hide the other's figures.
        printRow({ system: "wdk", world, workload: group, error: String(e.message ?? e).slice(0, 4000) });
      }
    }
  }
}

await main();
