#!/usr/bin/env node
/**
 * DBOS Transact (npm `@dbos-inc/dbos-sdk`) on PostgreSQL, the same workloads as our engine benchmark.
 * Prints a first line with machine and versions, then one JSON line per figure: { system: "dbos", world: "postgres", workload, runs, median_ms, min_ms, max_ms }.
 *
 *   node test/bench/peers/install.mjs dbos     once
 *   node test/bench/peers/dbos.mjs [--runs 3] [--max-run-s 120] [--groups sequential,burst-100x3,burst-1000x3]
 *
 * Postgres: WORKFLOW_POSTGRES_URL or postgres://postgres@127.0.0.1:5432/postgres; the database `dbos_bench` on
 * that server is dropped and recreated for every group. Each group runs in its own process, so peak RSS is the
 * group's own (the Postgres server's memory is not counted, as for our Postgres world).
 */
import { fileURLToPath } from "node:url";
import {
  databaseUrl,
  flags,
  machineLine,
  peerRequire,
  peerVersion,
  printRow,
  recreateDatabase,
  runChildJson,
} from "./common.mjs";
import { peakRssMiB, recordStep, runGroup } from "./workloads.mjs";

const DATABASE = "dbos_bench";
const SELF = fileURLToPath(import.meta.url);
const opts = flags();

async function child(group) {
  const require = peerRequire("dbos");
  const pg = require("pg");
  const { DBOS } = require("@dbos-inc/dbos-sdk");
  await recreateDatabase(pg, DATABASE);

  const tick = DBOS.registerStep(
    async (x) => {
      recordStep();
      return x + 1;
    },
    { name: "tick" },
  );
  const sequential = DBOS.registerWorkflow(
    async (n) => {
      let acc = 0;
      for (let i = 0; i < n; i++) acc = await tick(acc);
      return acc;
    },
    { name: "sequential" },
  );
  const three = DBOS.registerWorkflow(async (x) => tick(await tick(await tick(x))), { name: "three" });
  const workflows = { sequential, three };

  DBOS.setConfig({ name: "wfkit-bench", systemDatabaseUrl: databaseUrl(DATABASE), logLevel: "error" });
  await DBOS.launch();
  try {
    const adapter = {
      async start(kind, input) {
        const handle = await DBOS.startWorkflow(workflows[kind])(input);
        return { result: () => handle.getResult() };
      },
    };
    // Warm-up of the whole stack (pool, prepared paths, JIT), as the engine benchmark does.
    for (let i = 0; i < 20; i++) await (await adapter.start("sequential", 5)).result();
    for (const row of await runGroup(group, adapter, opts))
      printRow({ system: "dbos", world: "postgres", ...row });
    printRow({ system: "dbos", world: "postgres", workload: "peak-rss-mib", group, value: peakRssMiB() });
  } finally {
    await DBOS.shutdown();
  }
}

async function main() {
  peerRequire("dbos");
  printRow(machineLine("dbos", { "@dbos-inc/dbos-sdk": peerVersion("dbos", "@dbos-inc/dbos-sdk") }));
  for (const group of opts.groups) {
    const rows = await runChildJson(SELF, [
      "--child",
      "postgres",
      "--group",
      group,
      "--runs",
      String(opts.runs),
      "--max-run-s",
      String(opts.maxRunMs / 1000),
    ]);
    for (const row of rows) printRow(row);
  }
}

if (opts.child) await child(opts.group);
else await main();
