/**
 * Deployed workers on Postgres: `wf build` in a project, then two `wf worker --build .workflow` processes
 * started with plain `node` (no `--import workflow/register`, no compiler at run time) execute runs that
 * another plain-node process only starts (`WORKFLOW_EXECUTE_RUNS=0`). The sources are replaced by a file
 * that throws once the build is done, so the runs can only complete from the built bundles.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { engineForWorld, Run } from "@wfkit/core";
import { createPostgresWorld } from "@wfkit/world-postgres";
import { getTestDatabase } from "@wfkit/world-postgres/testing";
import { expect, it } from "vitest";
import { type NodeServer, startPlainNode } from "./plugins/support.js";
import { copyProject } from "./support/process.js";

const RUNS = 20;
const wf = fileURLToPath(new URL("../../packages/workflow/bin/wf.js", import.meta.url));

const STARTER = `
import { readFileSync } from "node:fs";
import { start } from "workflow/api";

// Started by ID from the manifest: this process has neither the sources' code nor the register hooks.
const manifest = JSON.parse(readFileSync(".workflow/manifest.json", "utf8"));
const id = Object.keys(manifest.workflows).find((w) => w.endsWith("//fanOut"));
const ids = [];
for (let i = 0; i < Number(process.argv[2]); i++) ids.push((await start(id, [i])).runId);
console.log("RUNS " + JSON.stringify(ids));
`;

it("wf worker --build runs the build output for runs another process started", async () => {
  const db = await getTestDatabase();
  const project = copyProject("workers");
  const env = {
    WORKFLOW_TARGET_WORLD: "postgres",
    WORKFLOW_POSTGRES_URL: db.url,
    WORKFLOW_POSTGRES_SCHEMA: db.schema,
    LEDGER: project.file("ledger.txt"),
  };
  const processes: NodeServer[] = [];
  const world = await createPostgresWorld({ url: db.url, schema: db.schema });
  try {
    const built = spawnSync(process.execPath, [wf, "build"], { cwd: project.dir, encoding: "utf8" });
    expect(built.status, built.stderr).toBe(0);
    expect(built.stdout).toMatch(/Built 2 workflows and 3 steps/);
    // From here on, loading the sources would throw: only the bundles in .workflow/ can run the runs.
    writeFileSync(project.file("src/fan-out.ts"), 'throw new Error("the worker loaded the sources");\n');

    const startWorker = async () => {
      const worker = startPlainNode(project, [wf, "worker", "--build", "--sweep", "500"], env);
      processes.push(worker);
      const ready = await worker.waitForLine(/^WORKER \d+ ready/, 30_000);
      expect(ready).toMatch(/on the postgres world from the build in \.workflow \(2 workflows, 3 steps\)$/);
      return Number(/^WORKER (\d+)/.exec(ready)![1]);
    };
    const workerPids = await Promise.all([startWorker(), startWorker()]);

    writeFileSync(project.file("start-runs.mjs"), STARTER);
    const starter = startPlainNode(project, ["start-runs.mjs", String(RUNS)], {
      ...env,
      WORKFLOW_EXECUTE_RUNS: "0",
    });
    processes.push(starter);
    const ids = JSON.parse(/^RUNS (.*)$/.exec(await starter.waitForLine(/^RUNS /, 30_000))![1]!) as string[];
    expect(ids).toHaveLength(RUNS);

    const engine = engineForWorld(world);
    const results = await Promise.all(ids.map((id) => new Run<number>(id, engine).returnValue));
    expect(results).toEqual(ids.map((_, i) => 3 * i + 6));
    // Every step body ran in one of the build workers (never in the process that started the runs).
    const executors = readFileSync(project.file("ledger.txt"), "utf8")
      .trim()
      .split("\n")
      .map((line) => Number(line.split(" ")[1]));
    expect(executors.length).toBeGreaterThanOrEqual(RUNS * 3);
    expect(executors.every((pid) => workerPids.includes(pid))).toBe(true);
    for (const id of ids) {
      const events = await world.readEvents(id);
      expect(events.filter((e) => e.type === "step_completed")).toHaveLength(4);
    }
  } finally {
    for (const p of processes) await p.stop();
    await world.close();
    await db.cleanup();
    project.cleanup();
  }
}, 120_000);
