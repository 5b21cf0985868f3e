/**
 * Crash-safe execution by many workers on one SQLite file: an app only starts runs, three worker processes execute
 * them, and workers are killed with SIGKILL (often in the middle of a write transaction) and replaced while the runs
 * are in flight. Every run completes, every step has exactly one `step_completed`, and no log has a gap or a fork.
 * The same test as postgres-workers.test.ts, on `WORKFLOW_TARGET_WORLD=sqlite`.
 */
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { engineForWorld, Run } from "@wfkit/core";
import { createSqliteWorld } from "@wfkit/world-sqlite";
import Database from "better-sqlite3";
import { expect, it } from "vitest";
import { copyProject, runNode, type SpawnedNode, spawnNode } from "./support/process.js";

const RUNS = 200;

it("3 workers execute 200 fan-out runs on one SQLite file to completion while being SIGKILLed and replaced", async () => {
  const project = copyProject("workers");
  const db = project.file("workflow.db");
  const env = {
    WORKFLOW_TARGET_WORLD: "sqlite",
    WORKFLOW_SQLITE_PATH: db,
    WORKFLOW_LEASE_TTL_MS: "2000",
    LEDGER: project.file("ledger.txt"),
  };
  const workers: SpawnedNode[] = [];
  const world = await createSqliteWorld({ path: db });
  try {
    // One worker is the `wf worker` command; the others call startWorker() from a script.
    const wf = fileURLToPath(new URL("../../packages/workflow/bin/wf.js", import.meta.url));
    const startWorker = async (viaCli = false) => {
      const worker = spawnNode(project, viaCli ? [wf, "worker", "--sweep", "500"] : ["src/worker.ts"], env);
      await worker.waitForLine(/^WORKER \d+ ready/, 30_000);
      return worker;
    };
    workers.push(...(await Promise.all([startWorker(true), startWorker(), startWorker()])));
    expect(await workers[0]!.waitForLine(/^WORKER \d+ ready/)).toMatch(/on the sqlite world/);

    const enqueued = await runNode(project, ["src/enqueue.ts", String(RUNS)], {
      env: { ...env, WORKFLOW_EXECUTE_RUNS: "0" },
    });
    const ids = JSON.parse(/RUNS (.*)/.exec(enqueued.stdout)![1]!) as string[];
    expect(ids).toHaveLength(RUNS);

    // While runs are unfinished, every 250 ms, kill a worker and start its replacement (without waiting for it).
    let kills = 0;
    for (let round = 0; round < 8; round++) {
      if (round > 0) await new Promise((r) => setTimeout(r, 250));
      const done = (await world.listRuns({ status: "completed", limit: 1000 })).items.length;
      if (done === RUNS) break;
      const slot = round % workers.length;
      workers[slot]!.child.kill("SIGKILL");
      await workers[slot]!.done;
      kills++;
      workers[slot] = spawnNode(project, ["src/worker.ts"], env);
    }
    expect(kills).toBeGreaterThan(0);

    const deadline = Date.now() + 60_000;
    for (;;) {
      const done = (await world.listRuns({ status: "completed", limit: 1000 })).items.length;
      if (done === RUNS) break;
      if (Date.now() > deadline) throw new Error(`only ${done} of ${RUNS} runs completed`);
      await new Promise((r) => setTimeout(r, 200));
    }

    // Step bodies may run more than once (at-least-once: their worker died mid-step), but each result is recorded once.
    const executions = readFileSync(project.file("ledger.txt"), "utf8").trim().split("\n");
    const distinct = new Set(executions.map((line) => line.split(" ")[0]));
    expect(distinct.size).toBe(RUNS * 3);
    console.log(`${kills} kills; ${executions.length - distinct.size} step bodies executed more than once`);

    const engine = engineForWorld(world);
    for (const [i, id] of ids.entries()) {
      const events = await world.readEvents(id);
      expect(events.map((e) => e.seq)).toEqual(events.map((_, k) => k + 1));
      const completed = events.filter((e) => e.type === "step_completed").map((e) => e.correlationId);
      expect(completed).toHaveLength(4);
      expect(new Set(completed).size).toBe(4);
      expect(events.filter((e) => e.type === "run_completed")).toHaveLength(1);
      expect(await new Run<number>(id, engine).returnValue).toBe(3 * i + 6);
    }
    // The file itself is sound after all those kills.
    const raw = new Database(db, { readonly: true });
    expect(raw.pragma("integrity_check", { simple: true })).toBe("ok");
    raw.close();
  } finally {
    for (const worker of workers) worker.child.kill("SIGKILL");
    await Promise.all(workers.map((w) => w.done));
    await world.close();
    project.cleanup();
  }
}, 120_000);

it("a worker frozen with SIGSTOP past its lease cannot record anything once another worker took the run over", async () => {
  const project = copyProject("workers");
  const db = project.file("workflow.db");
  const ledger = project.file("ledger.txt");
  const env = {
    WORKFLOW_TARGET_WORLD: "sqlite",
    WORKFLOW_SQLITE_PATH: db,
    WORKFLOW_LEASE_TTL_MS: "1000",
    LEDGER: ledger,
  };
  const world = await createSqliteWorld({ path: db });
  const spawned: SpawnedNode[] = [];
  const read = () => (existsSync(ledger) ? readFileSync(ledger, "utf8") : "");
  try {
    const frozen = spawnNode(project, ["src/worker.ts"], env);
    spawned.push(frozen);
    await frozen.waitForLine(/^WORKER \d+ ready/, 30_000);
    const enqueued = await runNode(project, ["src/enqueue-one.ts", "frozenExecutor"], {
      env: { ...env, WORKFLOW_EXECUTE_RUNS: "0" },
    });
    const runId = /RUN (\S+)/.exec(enqueued.stdout)![1]!;
    await waitUntil(() => read().includes(` 1 ${frozen.child.pid}`));
    frozen.child.kill("SIGSTOP");

    const rescuer = spawnNode(project, ["src/worker.ts"], env);
    spawned.push(rescuer);
    await waitUntil(async () => (await world.getRun(runId))?.status === "completed", 30_000);
    const before = await world.readEvents(runId);

    // Thaw the frozen worker: its first attempt now finishes and tries to record its result.
    frozen.child.kill("SIGCONT");
    await waitUntil(() =>
      read()
        .split("\n")
        .some((line) => line.startsWith("end ") && line.endsWith(` 1 ${frozen.child.pid}`)),
    );
    await new Promise((r) => setTimeout(r, 500)); // its attempt to record the result has been made and refused
    const after = await world.readEvents(runId);
    expect(after).toEqual(before);
    expect(after.map((e) => e.seq)).toEqual(after.map((_, k) => k + 1));
    expect(after.filter((e) => e.type === "step_completed")).toHaveLength(1);
    const output = await new Run<string>(runId, engineForWorld(world)).returnValue;
    expect(output).toBe(`attempt 2 by ${rescuer.child.pid}`);
  } finally {
    for (const child of spawned) {
      child.child.kill("SIGCONT");
      child.child.kill("SIGKILL");
    }
    await Promise.all(spawned.map((w) => w.done));
    await world.close();
    project.cleanup();
  }
}, 60_000);

async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}
