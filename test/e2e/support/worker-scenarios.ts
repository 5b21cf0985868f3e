/**
 * Multi-process scenarios that every world shared between processes must survive, written once and run per world
 * (sqlite-workers, sqlite-step-fan-out and sqlite-streams.test.ts; the Postgres files hold the same scenarios
 * written out):
 *
 * - workers SIGKILLed and replaced while 200 fan-out runs execute: every run completes, each step recorded once;
 * - a worker frozen with SIGSTOP past its lease cannot record anything once another took the run over;
 * - a run's `Promise.all` steps run in several worker processes, recorded only by the executor;
 * - a worker SIGKILLed while holding claimed step tasks loses none of them;
 * - a stream a step writes in a worker process is followed live by another process.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { engineForWorld, Run } from "@wfkit/core";
import type { WorkflowEvent, World } from "@wfkit/world";
import { expect } from "vitest";
import { copyProject, type Project, resultOf, runNode, type SpawnedNode, spawnNode } from "./process.js";

/** A world over storage private to one test, as the test and its child processes open it. */
export interface SharedWorld {
  /** The test's own instance. */
  world: World;
  /** What child processes need to open the same storage (WORKFLOW_TARGET_WORLD and the world's settings). */
  env: Record<string, string>;
  /** The lease owner of a run (its executor's engine ID starts with its process ID). */
  executorOf(runId: string): Promise<string | undefined>;
  /** Checks of the storage itself once a scenario ended (e.g. SQLite's integrity check). */
  verify?(): Promise<void>;
  close(): Promise<void>;
}

export type OpenSharedWorld = (project: Project) => Promise<SharedWorld>;

export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Dense, each of `steps` steps completed exactly once, and one run_completed. */
export function checkLog(events: WorkflowEvent[], steps: number): void {
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  const completed = events.filter((e) => e.type === "step_completed").map((e) => e.correlationId);
  expect(completed).toHaveLength(steps);
  expect(new Set(completed).size).toBe(steps);
  expect(events.filter((e) => e.type === "run_completed")).toHaveLength(1);
}

interface Harness {
  project: Project;
  shared: SharedWorld;
  env: Record<string, string>;
  workers: SpawnedNode[];
  ledger(): string[];
}

/** Runs `body` with a fresh copy of `projectName` and a world opened for it; kills every worker and cleans up. */
async function withHarness(
  projectName: string,
  open: OpenSharedWorld,
  ttlMs: string,
  body: (h: Harness) => Promise<void>,
): Promise<void> {
  const project = copyProject(projectName);
  const shared = await open(project);
  const env = { ...shared.env, WORKFLOW_LEASE_TTL_MS: ttlMs, LEDGER: project.file("ledger.txt") };
  const h: Harness = {
    project,
    shared,
    env,
    workers: [],
    ledger: () => (existsSync(env.LEDGER) ? readFileSync(env.LEDGER, "utf8").trim().split("\n") : []),
  };
  try {
    await body(h);
    await shared.verify?.();
  } finally {
    for (const w of h.workers) {
      w.child.kill("SIGCONT");
      w.child.kill("SIGKILL");
    }
    await Promise.all(h.workers.map((w) => w.done));
    await shared.close();
    project.cleanup();
  }
}

async function enqueue(h: Harness, args: string[]): Promise<string[]> {
  const out = await runNode(h.project, ["src/enqueue.ts", ...args], {
    env: { ...h.env, WORKFLOW_EXECUTE_RUNS: "0" },
  });
  return JSON.parse(/RUNS (.*)/.exec(out.stdout)![1]!) as string[];
}

const RUNS = 200;

export function workersSurviveKills(open: OpenSharedWorld): Promise<void> {
  return withHarness("workers", open, "2000", async (h) => {
    const { world } = h.shared;
    // One worker is the `wf worker` command; the others call startWorker() from a script.
    const wf = fileURLToPath(new URL("../../../packages/workflow/bin/wf.js", import.meta.url));
    const startWorker = async (viaCli = false) => {
      const worker = spawnNode(
        h.project,
        viaCli ? [wf, "worker", "--sweep", "500"] : ["src/worker.ts"],
        h.env,
      );
      await worker.waitForLine(/^WORKER \d+ ready/, 30_000);
      return worker;
    };
    h.workers.push(...(await Promise.all([startWorker(true), startWorker(), startWorker()])));
    expect(await h.workers[0]!.waitForLine(/^WORKER \d+ ready/)).toMatch(`on the ${world.name} world`);

    const ids = await enqueue(h, [String(RUNS)]);
    expect(ids).toHaveLength(RUNS);

    // While runs are unfinished, every 250 ms, kill a worker and start its replacement (without waiting for it).
    let kills = 0;
    for (let round = 0; round < 8; round++) {
      if (round > 0) await new Promise((r) => setTimeout(r, 250));
      const done = (await world.listRuns({ status: "completed", limit: 1000 })).items.length;
      if (done === RUNS) break;
      const slot = round % h.workers.length;
      h.workers[slot]!.child.kill("SIGKILL");
      await h.workers[slot]!.done;
      kills++;
      h.workers[slot] = spawnNode(h.project, ["src/worker.ts"], h.env);
    }
    expect(kills).toBeGreaterThan(0);

    await waitUntil(
      async () => (await world.listRuns({ status: "completed", limit: 1000 })).items.length === RUNS,
      60_000,
    );

    // Step bodies may run more than once (at-least-once: their worker died mid-step), but each result is recorded once.
    const executions = h.ledger();
    const distinct = new Set(executions.map((line) => line.split(" ")[0]));
    expect(distinct.size).toBe(RUNS * 3);
    console.log(`${kills} kills; ${executions.length - distinct.size} step bodies executed more than once`);

    const engine = engineForWorld(world);
    for (const [i, id] of ids.entries()) {
      checkLog(await world.readEvents(id), 4);
      expect(await new Run<number>(id, engine).returnValue).toBe(3 * i + 6);
    }
  });
}

export function frozenExecutorIsFenced(open: OpenSharedWorld): Promise<void> {
  return withHarness("workers", open, "1000", async (h) => {
    const { world } = h.shared;
    const read = () => h.ledger().join("\n");
    const frozen = spawnNode(h.project, ["src/worker.ts"], h.env);
    h.workers.push(frozen);
    await frozen.waitForLine(/^WORKER \d+ ready/, 30_000);
    const enqueued = await runNode(h.project, ["src/enqueue-one.ts", "frozenExecutor"], {
      env: { ...h.env, WORKFLOW_EXECUTE_RUNS: "0" },
    });
    const runId = /RUN (\S+)/.exec(enqueued.stdout)![1]!;
    await waitUntil(() => read().includes(` 1 ${frozen.child.pid}`));
    frozen.child.kill("SIGSTOP");

    const rescuer = spawnNode(h.project, ["src/worker.ts"], h.env);
    h.workers.push(rescuer);
    await waitUntil(async () => (await world.getRun(runId))?.status === "completed");
    const before = await world.readEvents(runId);

    // Thaw the frozen worker: its first attempt now finishes and tries to record its result.
    frozen.child.kill("SIGCONT");
    await waitUntil(() =>
      h.ledger().some((line) => line.startsWith("end ") && line.endsWith(` 1 ${frozen.child.pid}`)),
    );
    await new Promise((r) => setTimeout(r, 500)); // its attempt to record the result has been made and refused
    const after = await world.readEvents(runId);
    expect(after).toEqual(before);
    expect(after.map((e) => e.seq)).toEqual(after.map((_, k) => k + 1));
    expect(after.filter((e) => e.type === "step_completed")).toHaveLength(1);
    const output = await new Run<string>(runId, engineForWorld(world)).returnValue;
    expect(output).toBe(`attempt 2 by ${rescuer.child.pid}`);
  });
}

type Part = { k: number; pid: number; attempt: number };

async function startWorkers(h: Harness, n: number): Promise<void> {
  const started = Array.from({ length: n }, () => spawnNode(h.project, ["src/worker.ts"], h.env));
  h.workers.push(...started);
  await Promise.all(started.map((w) => w.waitForLine(/^WORKER \d+ ready/, 30_000)));
}

async function allCompleted(world: World, ids: string[]): Promise<void> {
  await waitUntil(async () => {
    for (const id of ids) if ((await world.getRun(id))?.status !== "completed") return false;
    return true;
  }, 60_000);
}

export function stepsFanOutAcrossWorkers(open: OpenSharedWorld): Promise<void> {
  return withHarness("step-fan-out", open, "5000", async (h) => {
    const { world } = h.shared;
    await startWorkers(h, 3);
    const workerPids = new Set(h.workers.map((w) => w.child.pid));
    const ids = await enqueue(h, ["6", "8", "150"]);
    await allCompleted(world, ids);

    const engine = engineForWorld(world);
    let spreadRuns = 0;
    const allPids = new Set<number>();
    for (const id of ids) {
      checkLog(await world.readEvents(id), 8);
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
    // Each run's executor runs one step itself and offers seven: the other workers take them first (unless the
    // machine is so slow that they miss the executor's head start, when it runs them itself: hence not "all").
    expect(spreadRuns).toBeGreaterThanOrEqual(1);
    expect(allPids.size).toBeGreaterThanOrEqual(2);
    // Every body ran once: nobody crashed, so nothing was run again.
    expect(h.ledger()).toHaveLength(ids.length * 8);
    // Recorded tasks were removed by their executors.
    const tasks = world.listStepTasks!.bind(world);
    for (const id of ids) await waitUntil(async () => (await tasks(id)).length === 0);
  });
}

export function claimedStepsSurviveKilledWorker(open: OpenSharedWorld): Promise<void> {
  return withHarness("step-fan-out", open, "1500", async (h) => {
    const { world, executorOf } = h.shared;
    const tasks = world.listStepTasks!.bind(world);
    await startWorkers(h, 3);
    const [runId] = await enqueue(h, ["1", "6", "2500"]);
    // Find a worker that is not the run's executor and holds a claim, and kill it in the middle of the step.
    let victim: SpawnedNode | undefined;
    let stolen: string[] = [];
    await waitUntil(async () => {
      const executor = await executorOf(runId!);
      const stored = await tasks(runId!);
      for (const w of h.workers) {
        const owner = (o: string | undefined) => o?.startsWith(`${w.child.pid}:`) === true;
        const held = stored.filter((task) => task.status === "claimed" && owner(task.claim?.owner));
        if (held.length > 0 && !owner(executor)) {
          victim = w;
          stolen = held.map((task) => task.correlationId);
          return true;
        }
      }
      return false;
    });
    // Its bodies have started (the ledger says so) before it dies.
    await waitUntil(() =>
      stolen.every((cid) => h.ledger().some((l) => l.includes(`/${cid} 1 ${victim!.child.pid}`))),
    );
    victim!.child.kill("SIGKILL");
    await victim!.done;

    await allCompleted(world, [runId!]);
    const events = await world.readEvents(runId!);
    checkLog(events, 6);
    const parts = await new Run<Part[]>(runId!, engineForWorld(world)).returnValue;
    expect(parts.map((p) => p.k)).toEqual([0, 1, 2, 3, 4, 5]);
    const byCid = new Map(parts.map((p, k) => [`step_${String(k + 1).padStart(4, "0")}`, p]));
    for (const cid of stolen) {
      // Recorded from a survivor, with the attempt the log started (a lost claim does not consume one).
      expect(byCid.get(cid)!.pid).not.toBe(victim!.child.pid);
      expect(byCid.get(cid)!.attempt).toBe(1);
      expect(h.ledger().filter((l) => l.includes(`/${cid} `)).length).toBeGreaterThanOrEqual(2);
    }
    const started = events.filter((e) => e.type === "step_started" && stolen.includes(e.correlationId!));
    expect(started.map((e) => e.data)).toEqual(stolen.map(() => ({ attempt: 1 })));
    console.log(`killed worker ${victim!.child.pid} holding ${stolen.join(", ")}`);
  });
}

/**
 * A worker process executes the run and its step writes to `getWritable()`; another process, which only started the
 * run (WORKFLOW_EXECUTE_RUNS=0), reads `run.getReadable()` live. The step cannot finish before the reader has
 * received its first chunk (it waits for an acknowledgement given only then), so the reader is tailing a stream
 * that is still being written, woken by the world's notifications between processes.
 */
export function streamFollowedAcrossProcesses(open: OpenSharedWorld): Promise<void> {
  return withHarness("pg-streams", open, "10000", async (h) => {
    const worker = spawnNode(h.project, ["src/worker.ts"], h.env);
    h.workers.push(worker);
    const workerPid = Number(/WORKER (\d+)/.exec(await worker.waitForLine(/^WORKER \d+ ready/, 30_000))![1]);

    const ack = h.project.file("ack");
    const watcher = spawnNode(h.project, ["src/watch.ts", ack], { ...h.env, WORKFLOW_EXECUTE_RUNS: "0" });
    h.workers.push(watcher);
    await watcher.waitForLine(/^CHUNK tick 1$/, 30_000);
    // The step is now blocked until the ack: it has written "tick 1" and nothing else yet.
    expect(existsSync(ack)).toBe(false);
    writeFileSync(ack, "ok");
    const result = await watcher.done;
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.split("\n").filter((l) => l.startsWith("CHUNK "));
    expect(lines).toEqual(["CHUNK tick 1", "CHUNK tick 2"]);
    // The step ran in the worker, not in the process that started the run and read the stream.
    expect(resultOf(result)).toEqual({ pid: workerPid, self: watcher.child.pid });
  });
}
