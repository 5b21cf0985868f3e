/**
 * Crash-safe execution by many workers on one Redis server (the scenarios of support/worker-scenarios.ts):
 * workers SIGKILLed and replaced while 200 runs execute, a worker frozen past its lease, a run's steps spread over
 * workers with a claimer SIGKILLed, and, Redis's own case, every worker connection killed by the server
 * (CLIENT KILL) again and again while runs execute. Every run completes, every step has exactly one
 * `step_completed`, and no log has a gap or a fork.
 */
import { createRedisWorld } from "@wfkit/world-redis";
import { getTestRedis, killClients, redisCommand } from "@wfkit/world-redis/testing";
import { expect, it } from "vitest";
import {
  checkFanOutRuns,
  claimerKilledLosesNoStep,
  frozenWorkerRecordsNothing,
  type SharedWorld,
  stepsSpreadOverWorkers,
  withWorkers,
  workersKilledAndReplaced,
} from "./support/worker-scenarios.js";

/** A fresh key prefix on the test Redis server (the project copy is not needed: nothing is kept in files). */
async function openRedis(): Promise<SharedWorld & { url: string; prefix: string; ownConnections: string }> {
  const redis = await getTestRedis();
  const world = await createRedisWorld({ url: redis.url, prefix: redis.prefix, warn: () => {} });
  return {
    url: redis.url,
    prefix: redis.prefix,
    ownConnections: world.connectionName,
    env: {
      WORKFLOW_TARGET_WORLD: "redis",
      WORKFLOW_REDIS_URL: redis.url,
      WORKFLOW_REDIS_PREFIX: redis.prefix,
    },
    world,
    executorOf: async (runId) =>
      ((await redisCommand(redis.url, "HGET", `${redis.prefix}run:${runId}`, "lo")) as string | null) ??
      undefined,
    close: async () => {
      await world.close();
      await redis.cleanup();
    },
  };
}

it("3 workers execute 200 fan-out runs to completion on Redis while being SIGKILLed and replaced", async () => {
  await workersKilledAndReplaced(openRedis, 200);
}, 120_000);

it("the workers' Redis connections killed by the server while runs execute: every run completes, each step recorded once", async () => {
  let target: Awaited<ReturnType<typeof openRedis>> | undefined;
  const open = async () => {
    target = await openRedis();
    return target;
  };
  await withWorkers(open, "workers", 2000, async (s) => {
    await Promise.all([s.startWorker(), s.startWorker(), s.startWorker()]);
    const ids = await s.enqueue("src/enqueue.ts", [100]);
    // Every 100 ms while runs are unfinished, the server drops every connection of every worker (commands and
    // subscriptions; the test's own stay): appends in flight lose their answers, notifications meanwhile are lost.
    const { url, prefix, ownConnections } = target!;
    const workerConnection = (name: string) =>
      name.includes(`:${prefix}:`) && !name.startsWith(ownConnections);
    let killed = 0;
    for (let round = 0; round < 20; round++) {
      if ((await s.world.listRuns({ status: "completed", limit: 1000 })).items.length === ids.length) break;
      killed += await killClients(url, workerConnection);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(killed).toBeGreaterThan(0);
    const repeated = await checkFanOutRuns(s, ids);
    // No worker died of it.
    for (const w of s.workers) expect(w.child.exitCode).toBeNull();
    console.log(`${killed} worker connections killed; ${repeated} step bodies executed more than once`);
  });
}, 120_000);

it("a worker frozen with SIGSTOP past its lease cannot record anything once another worker took the run over", async () => {
  await frozenWorkerRecordsNothing(openRedis);
}, 60_000);

it("a run's Promise.all steps run in several worker processes on Redis; only the executor records them, once each", async () => {
  await stepsSpreadOverWorkers(openRedis);
}, 120_000);

it("a worker SIGKILLed while it holds claimed steps loses none of them on Redis: another worker runs them again", async () => {
  await claimerKilledLosesNoStep(openRedis);
}, 120_000);
