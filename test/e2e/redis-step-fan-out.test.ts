/**
 * `Promise.all` fan-out of one run's steps across worker processes on one Redis server: the run's executor runs
 * one step of the batch and offers the others as step tasks; any worker claims them. Step bodies run in several
 * processes, yet only the executor writes the run's log (one `step_completed` per step), and a worker killed with
 * SIGKILL while holding claimed steps loses none of them: its claims expire and another worker runs them again.
 */
import { existsSync, readFileSync } from "node:fs";
import { engineForWorld, Run } from "@wfkit/core";
import type { WorkflowEvent } from "@wfkit/world";
import { createRedisWorld, type RedisWorld } from "@wfkit/world-redis";
import { getTestRedis, redisCommand } from "@wfkit/world-redis/testing";
import { expect, it } from "vitest";
import { copyProject, runNode, type SpawnedNode, spawnNode } from "./support/process.js";

type Part = { k: number; pid: number; attempt: number };

function checkLog(events: WorkflowEvent[], steps: number): void {
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  const completed = events.filter((e) => e.type === "step_completed").map((e) => e.correlationId);
  expect(completed).toHaveLength(steps);
  expect(new Set(completed).size).toBe(steps);
  expect(events.filter((e) => e.type === "run_completed")).toHaveLength(1);
}

async function setUp(ttlMs: string) {
  const redis = await getTestRedis();
  const project = copyProject("step-fan-out");
  const env = {
    WORKFLOW_TARGET_WORLD: "redis",
    WORKFLOW_REDIS_URL: redis.url,
    WORKFLOW_REDIS_PREFIX: redis.prefix,
    WORKFLOW_LEASE_TTL_MS: ttlMs,
    LEDGER: project.file("ledger.txt"),
  };
  const world = await createRedisWorld({ url: redis.url, prefix: redis.prefix, warn: () => {} });
  const workers: SpawnedNode[] = [];
  const startWorkers = async (n: number) => {
    const started = Array.from({ length: n }, () => spawnNode(project, ["src/worker.ts"], env));
    workers.push(...started);
    await Promise.all(started.map((w) => w.waitForLine(/^WORKER \d+ ready/, 30_000)));
  };
  const enqueue = async (count: number, n: number, ms: number) => {
    const out = await runNode(project, ["src/enqueue.ts", String(count), String(n), String(ms)], {
      env: { ...env, WORKFLOW_EXECUTE_RUNS: "0" },
    });
    return JSON.parse(/RUNS (.*)/.exec(out.stdout)![1]!) as string[];
  };
  const ledger = () => (existsSync(env.LEDGER) ? readFileSync(env.LEDGER, "utf8").trim().split("\n") : []);
  /** The lease owner of the run (its executor): the engine's owner ID starts with the process ID. */
  const executorOf = async (runId: string) =>
    ((await redisCommand(redis.url, "HGET", `${redis.prefix}run:${runId}`, "lo")) as string | null) ??
    undefined;
  const tearDown = async () => {
    for (const w of workers) w.child.kill("SIGKILL");
    await Promise.all(workers.map((w) => w.done));
    await world.close();
    await redis.cleanup();
    project.cleanup();
  };
  return { world, workers, startWorkers, enqueue, ledger, executorOf, tearDown };
}

async function allCompleted(world: RedisWorld, ids: string[], timeoutMs: number): Promise<void> {
  await waitUntil(async () => {
    for (const id of ids) if ((await world.getRun(id))?.status !== "completed") return false;
    return true;
  }, timeoutMs);
}

it("a run's Promise.all steps run in several worker processes on Redis; only the executor records them, once each", async () => {
  const t = await setUp("5000");
  try {
    await t.startWorkers(3);
    const workerPids = new Set(t.workers.map((w) => w.child.pid));
    const ids = await t.enqueue(6, 8, 150);
    await allCompleted(t.world, ids, 60_000);

    const engine = engineForWorld(t.world);
    let spreadRuns = 0;
    const allPids = new Set<number>();
    for (const id of ids) {
      checkLog(await t.world.readEvents(id), 8);
      const parts = await new Run<Part[]>(id, engine).returnValue;
      expect(parts.map((p) => p.k)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      const pids = new Set(parts.map((p) => p.pid));
      for (const pid of pids) {
        expect(workerPids.has(pid)).toBe(true);
        allPids.add(pid);
      }
      if (pids.size > 1) spreadRuns++;
    }
    console.log(`${spreadRuns} of ${ids.length} runs ran their steps in more than one process`);
    expect(spreadRuns).toBeGreaterThanOrEqual(1);
    expect(allPids.size).toBeGreaterThanOrEqual(2);
    // Every body ran once: nobody crashed, so nothing was run again.
    expect(t.ledger()).toHaveLength(ids.length * 8);
    for (const id of ids) await waitUntil(async () => (await t.world.listStepTasks(id)).length === 0);
  } finally {
    await t.tearDown();
  }
}, 120_000);

it("a worker SIGKILLed while it holds claimed steps loses none of them on Redis: another worker runs them again", async () => {
  const t = await setUp("1500");
  try {
    await t.startWorkers(3);
    const [runId] = await t.enqueue(1, 6, 2_500);
    let victim: SpawnedNode | undefined;
    let stolen: string[] = [];
    await waitUntil(async () => {
      const executor = await t.executorOf(runId!);
      const tasks = await t.world.listStepTasks(runId!);
      for (const w of t.workers) {
        const owner = (o: string | undefined) => o?.startsWith(`${w.child.pid}:`) === true;
        const held = tasks.filter((task) => task.status === "claimed" && owner(task.claim?.owner));
        if (held.length > 0 && !owner(executor)) {
          victim = w;
          stolen = held.map((task) => task.correlationId);
          return true;
        }
      }
      return false;
    });
    await waitUntil(() =>
      stolen.every((cid) => t.ledger().some((l) => l.includes(`/${cid} 1 ${victim!.child.pid}`))),
    );
    victim!.child.kill("SIGKILL");
    await victim!.done;

    await allCompleted(t.world, [runId!], 60_000);
    const events = await t.world.readEvents(runId!);
    checkLog(events, 6);
    const parts = await new Run<Part[]>(runId!, engineForWorld(t.world)).returnValue;
    expect(parts.map((p) => p.k)).toEqual([0, 1, 2, 3, 4, 5]);
    const byCid = new Map(parts.map((p, k) => [`step_${String(k + 1).padStart(4, "0")}`, p]));
    for (const cid of stolen) {
      expect(byCid.get(cid)!.pid).not.toBe(victim!.child.pid);
      expect(byCid.get(cid)!.attempt).toBe(1);
      expect(t.ledger().filter((l) => l.includes(`/${cid} `)).length).toBeGreaterThanOrEqual(2);
    }
    const started = events.filter((e) => e.type === "step_started" && stolen.includes(e.correlationId!));
    expect(started.map((e) => e.data)).toEqual(stolen.map(() => ({ attempt: 1 })));
    console.log(`killed worker ${victim!.child.pid} holding ${stolen.join(", ")}`);
  } finally {
    await t.tearDown();
  }
}, 120_000);

async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}
