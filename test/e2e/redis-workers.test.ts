/**
 * Crash-safe execution by many workers on one Redis server: an app only starts runs, three worker processes
 * execute them, and workers are killed with SIGKILL and replaced while the runs are in flight; then the
 * workers' Redis connections are killed by the server (CLIENT KILL) while runs are in flight. Every run
 * completes, every step has exactly one `step_completed`, and no log has a gap or a fork.
 */
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { engineForWorld, Run } from "@wfkit/core";
import { createRedisWorld, type RedisWorld } from "@wfkit/world-redis";
import { getTestRedis, killClients, type TestRedis } from "@wfkit/world-redis/testing";
import { expect, it } from "vitest";
import { copyProject, type Project, runNode, type SpawnedNode, spawnNode } from "./support/process.js";

const RUNS = 200;

interface Setup {
  redis: TestRedis;
  project: Project;
  env: Record<string, string>;
  world: RedisWorld;
  tearDown(workers: SpawnedNode[]): Promise<void>;
}

async function setUp(leaseTtlMs: string): Promise<Setup> {
  const redis = await getTestRedis();
  const project = copyProject("workers");
  const env = {
    WORKFLOW_TARGET_WORLD: "redis",
    WORKFLOW_REDIS_URL: redis.url,
    WORKFLOW_REDIS_PREFIX: redis.prefix,
    WORKFLOW_LEASE_TTL_MS: leaseTtlMs,
    LEDGER: project.file("ledger.txt"),
  };
  const world = await createRedisWorld({ url: redis.url, prefix: redis.prefix, warn: () => {} });
  return {
    redis,
    project,
    env,
    world,
    async tearDown(workers) {
      for (const w of workers) {
        w.child.kill("SIGCONT");
        w.child.kill("SIGKILL");
      }
      await Promise.all(workers.map((w) => w.done));
      await world.close();
      await redis.cleanup();
      project.cleanup();
    },
  };
}

const wf = fileURLToPath(new URL("../../packages/workflow/bin/wf.js", import.meta.url));

async function startWorker(s: Setup, viaCli = false): Promise<SpawnedNode> {
  const worker = spawnNode(s.project, viaCli ? [wf, "worker", "--sweep", "500"] : ["src/worker.ts"], s.env);
  await worker.waitForLine(/^WORKER \d+ ready/, 30_000);
  return worker;
}

async function enqueue(s: Setup, count: number): Promise<string[]> {
  const out = await runNode(s.project, ["src/enqueue.ts", String(count)], {
    env: { ...s.env, WORKFLOW_EXECUTE_RUNS: "0" },
  });
  return JSON.parse(/RUNS (.*)/.exec(out.stdout)![1]!) as string[];
}

async function completed(world: RedisWorld): Promise<number> {
  return (await world.listRuns({ status: "completed", limit: 1000 })).items.length;
}

/** Every run completed with the right result; each step recorded once; logs dense; each body ran at least once. */
async function checkRuns(s: Setup, ids: string[]): Promise<number> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const done = await completed(s.world);
    if (done === ids.length) break;
    if (Date.now() > deadline) throw new Error(`only ${done} of ${ids.length} runs completed`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const executions = readFileSync(s.project.file("ledger.txt"), "utf8").trim().split("\n");
  const distinct = new Set(executions.map((line) => line.split(" ")[0]));
  expect(distinct.size).toBe(ids.length * 3);
  const engine = engineForWorld(s.world);
  for (const [i, id] of ids.entries()) {
    const events = await s.world.readEvents(id);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, k) => k + 1));
    const recorded = events.filter((e) => e.type === "step_completed").map((e) => e.correlationId);
    expect(recorded).toHaveLength(4);
    expect(new Set(recorded).size).toBe(4);
    expect(events.filter((e) => e.type === "run_completed")).toHaveLength(1);
    expect(await new Run<number>(id, engine).returnValue).toBe(3 * i + 6);
  }
  return executions.length - distinct.size;
}

it("3 workers execute 200 fan-out runs to completion on Redis while being SIGKILLed and replaced", async () => {
  const s = await setUp("2000");
  const workers: SpawnedNode[] = [];
  try {
    // One worker is the `wf worker` command; the others call startWorker() from a script.
    workers.push(...(await Promise.all([startWorker(s, true), startWorker(s), startWorker(s)])));
    const ids = await enqueue(s, RUNS);
    expect(ids).toHaveLength(RUNS);

    // While runs are unfinished, every 250 ms, kill a worker and start its replacement (without waiting for it).
    let kills = 0;
    for (let round = 0; round < 8; round++) {
      if (round > 0) await new Promise((r) => setTimeout(r, 250));
      if ((await completed(s.world)) === RUNS) break;
      const slot = round % workers.length;
      workers[slot]!.child.kill("SIGKILL");
      await workers[slot]!.done;
      kills++;
      workers[slot] = spawnNode(s.project, ["src/worker.ts"], s.env);
    }
    expect(kills).toBeGreaterThan(0);
    const repeated = await checkRuns(s, ids);
    // Step bodies may run more than once (their worker died mid-step), but each result is recorded once.
    console.log(`${kills} kills; ${repeated} step bodies executed more than once`);
  } finally {
    await s.tearDown(workers);
  }
}, 120_000);

it("the workers' Redis connections killed by the server while runs execute: every run completes, each step recorded once", async () => {
  const s = await setUp("2000");
  const workers: SpawnedNode[] = [];
  try {
    workers.push(...(await Promise.all([startWorker(s), startWorker(s), startWorker(s)])));
    const ids = await enqueue(s, 100);
    // Every 100 ms while runs are unfinished, the server drops every connection of every worker (commands and
    // subscriptions): appends in flight lose their answers, notifications published meanwhile are lost.
    let killed = 0;
    for (let round = 0; round < 20; round++) {
      if ((await completed(s.world)) === ids.length) break;
      killed += await killClients(
        s.redis.url,
        (name) => name.includes(`:${s.redis.prefix}:`) && !name.includes(s.world.connectionName),
      );
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(killed).toBeGreaterThan(0);
    const repeated = await checkRuns(s, ids);
    // No worker died of it.
    for (const w of workers) expect(w.child.exitCode).toBeNull();
    console.log(`${killed} worker connections killed; ${repeated} step bodies executed more than once`);
  } finally {
    await s.tearDown(workers);
  }
}, 120_000);

it("a worker frozen with SIGSTOP past its lease cannot record anything once another worker took the run over", async () => {
  const s = await setUp("1000");
  const ledger = s.project.file("ledger.txt");
  const read = () => (existsSync(ledger) ? readFileSync(ledger, "utf8") : "");
  const spawned: SpawnedNode[] = [];
  try {
    const frozen = spawnNode(s.project, ["src/worker.ts"], s.env);
    spawned.push(frozen);
    await frozen.waitForLine(/^WORKER \d+ ready/, 30_000);
    const enqueued = await runNode(s.project, ["src/enqueue-one.ts", "frozenExecutor"], {
      env: { ...s.env, WORKFLOW_EXECUTE_RUNS: "0" },
    });
    const runId = /RUN (\S+)/.exec(enqueued.stdout)![1]!;
    await waitUntil(() => read().includes(` 1 ${frozen.child.pid}`));
    frozen.child.kill("SIGSTOP");

    const rescuer = spawnNode(s.project, ["src/worker.ts"], s.env);
    spawned.push(rescuer);
    await waitUntil(async () => (await s.world.getRun(runId))?.status === "completed", 30_000);
    const before = await s.world.readEvents(runId);

    // Thaw the frozen worker: its first attempt now finishes and tries to record its result.
    frozen.child.kill("SIGCONT");
    await waitUntil(() =>
      read()
        .split("\n")
        .some((line) => line.startsWith("end ") && line.endsWith(` 1 ${frozen.child.pid}`)),
    );
    await new Promise((r) => setTimeout(r, 500)); // its attempt to record the result has been made and refused
    const after = await s.world.readEvents(runId);
    expect(after).toEqual(before);
    expect(after.map((e) => e.seq)).toEqual(after.map((_, k) => k + 1));
    expect(after.filter((e) => e.type === "step_completed")).toHaveLength(1);
    const output = await new Run<string>(runId, engineForWorld(s.world)).returnValue;
    expect(output).toBe(`attempt 2 by ${rescuer.child.pid}`);
  } finally {
    await s.tearDown(spawned);
  }
}, 60_000);

async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}
