/**
 * The Postgres world in a real process whose connections the server kills (pg_terminate_backend) at random
 * moments: while `migrate` runs, while worlds open (with and without migrating) and while an open world is in use. An 'error' event
 * that no listener hears crashes a Node process, so this runs in a child process and its exit code is the
 * verdict. Opens must succeed (retried) or reject with a WorldError; an open world keeps working.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { getTestDatabase } from "@wfkit/world-postgres/testing";
import { expect, it } from "vitest";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

/** The child: imports the built world (run `npx turbo run build` first) and prints `RESULT <json>`. */
const CHILD = `
import pg from "pg";
import { createPostgresWorld, migrate } from "@wfkit/world-postgres";
const { URL: url, SCHEMA: schema } = process.env;
const app = "wf-kills-" + process.pid;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const admin = new pg.Client({ connectionString: url });
await admin.connect();
let kills = 0;
const killAll = async () => {
  const r = await admin.query(
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", [app]);
  kills += r.rowCount;
  return r.rowCount;
};

// Phase 0: \`migrate\` (what \`wf postgres migrate\` runs) while its connection dies. Its sessions are told apart
// from other processes' migrations by the schema name in their last statement.
const migrations = { ok: 0, rejected: {} };
let migrateKills = 0;
for (let i = 0; i < 10; i++) {
  await admin.query('DROP SCHEMA IF EXISTS "' + schema + '" CASCADE');
  let migrating = true;
  const killer = (async () => {
    await sleep(Math.random() * 30);
    while (migrating) {
      const r = await admin.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'wfkit-migrate' " +
          "AND position($1 in query) > 0", [schema]);
      migrateKills += r.rowCount;
      if (r.rowCount) break;
      await sleep(1);
    }
  })();
  try {
    await migrate(url, schema);
    migrations.ok++;
  } catch (e) {
    const code = e?.name === "WorldError" ? e.code : "RAW " + (e?.code ?? e?.message);
    migrations.rejected[code] = (migrations.rejected[code] ?? 0) + 1;
  }
  migrating = false;
  await killer;
}

// Phase 1: worlds opening (every other one on a dropped schema, so it migrates) while their connections die.
const opens = { ok: 0, rejected: {} };
for (let i = 0; i < 30; i++) {
  if (i % 2 === 0) await admin.query('DROP SCHEMA IF EXISTS "' + schema + '" CASCADE');
  let opening = true;
  const killer = (async () => {
    await sleep(Math.random() * 40);
    while (opening && (await killAll()) === 0) await sleep(1);
  })();
  try {
    const w = await createPostgresWorld({ url, schema, applicationName: app, poolSize: 2 });
    opens.ok++;
    opening = false;
    await killer;
    await w.close();
  } catch (e) {
    opening = false;
    await killer;
    const code = typeof e?.code === "string" && e.name === "WorldError" ? e.code : "RAW " + (e?.code ?? e?.message);
    opens.rejected[code] = (opens.rejected[code] ?? 0) + 1;
  }
}
const opensKills = kills;

// Phase 2: an open world in use while its pooled and LISTEN connections are killed again and again.
const world = await createPostgresWorld({ url, schema, applicationName: app, poolSize: 3 });
const other = await createPostgresWorld({ url, schema, poolSize: 1 });
const ops = { ok: 0, failed: {} };
let using = true;
const killer = (async () => {
  while (using) {
    await killAll();
    await sleep(50 + Math.random() * 100);
  }
})();
const deadline = Date.now() + 1500;
const worker = async () => {
  while (Date.now() < deadline) {
    try {
      const { run } = await world.createRun({ workflowName: "wf", input: "[]" });
      await world.append(run.runId, 1, [{ type: "run_started" }]);
      await world.writeStream(run.runId, "out", ["x"]);
      await world.getRun(run.runId);
      await world.readEvents(run.runId);
      ops.ok++;
    } catch (e) {
      const code = typeof e?.code === "string" && e.name.endsWith("Error") && e.name !== "Error" ? e.code : "RAW " + (e?.code ?? e?.message);
      ops.failed[code] = (ops.failed[code] ?? 0) + 1;
    }
  }
};
await Promise.all([worker(), worker(), worker()]);
using = false;
await killer;

// Afterwards the world works, and its LISTEN connection came back: it hears another instance's run.
let heard = false;
world.subscribe((n) => { if (n.kind === "created") heard = true; });
const { run } = await world.createRun({ workflowName: "wf", input: "[]" });
await world.append(run.runId, 1, [{ type: "run_started" }]);
for (let i = 0; i < 500 && !heard; i++) {
  await other.createRun({ workflowName: "wf", input: "[]" });
  await sleep(20);
}
await world.close();
await other.close();
await admin.query('DROP SCHEMA IF EXISTS "' + schema + '" CASCADE');
await admin.end();
console.log("RESULT " + JSON.stringify({ migrations, migrateKills, opens, opensKills, ops, usingKills: kills - opensKills, heard }));
`;

it("killed connections while worlds open and while one is in use never crash the process", async () => {
  const db = await getTestDatabase();
  const child = spawn(process.execPath, ["--input-type=module", "-e", CHILD], {
    cwd: repoRoot,
    env: { ...process.env, URL: db.url, SCHEMA: db.schema },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
  child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  await db.cleanup();
  expect(code, `the child crashed:\n${stderr}\n${stdout}`).toBe(0);
  const line = stdout.split("\n").find((l) => l.startsWith("RESULT "));
  const result = JSON.parse(line!.slice("RESULT ".length));
  expect(result.migrateKills).toBeGreaterThan(0);
  for (const reason of Object.keys(result.migrations.rejected)) expect(reason).toBe("CONNECTION_LOST");
  expect(result.migrations.ok).toBeGreaterThan(0);
  // Every open either succeeded or was refused with a WorldError (CONNECTION_LOST after repeated kills).
  expect(result.opens.ok + Object.values<number>(result.opens.rejected).reduce((a, b) => a + b, 0)).toBe(30);
  for (const reason of Object.keys(result.opens.rejected)) expect(reason).toBe("CONNECTION_LOST");
  expect(result.opens.ok).toBeGreaterThan(0);
  expect(result.opensKills).toBeGreaterThan(0);
  // The world in use: connections were killed under it, its calls went on, and failures are WorldErrors.
  expect(result.usingKills).toBeGreaterThan(0);
  expect(result.ops.ok).toBeGreaterThan(0);
  for (const reason of Object.keys(result.ops.failed)) expect(reason).not.toMatch(/^RAW /);
  expect(result.heard).toBe(true);
}, 120_000);
