/**
 * Multi-process scenarios that every world shared between processes must survive, written once and run per world
 * (the sqlite-*, postgres-workers, postgres-step-fan-out, postgres-streams and redis-workers test files). A test
 * file gives an `OpenSharedWorld` (the environment that points the processes at its world, an instance for the
 * test to look with, and how to read a run's lease owner) and runs the scenarios on it:
 *
 * - `projects/workers`: workers SIGKILLed and replaced while fan-out runs execute: every run completes, each step
 *   recorded once; a worker frozen with SIGSTOP past its lease cannot record anything once another took the run over;
 * - `projects/step-fan-out`: a run's `Promise.all` steps run in several worker processes, recorded only by the
 *   executor; a worker SIGKILLed while holding claimed step tasks loses none of them;
 * - `projects/pg-streams`: a stream a step writes in a worker process is followed live by another process.
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
  /** Closes the test's instance and frees the storage. */
  close(): Promise<void>;
}

/** Opens a world for one scenario; a world kept in files puts them in the scenario's copy of the project. */
export type OpenSharedWorld = (project: Project) => Promise<SharedWorld>;

export interface Scenario extends SharedWorld {
  project: Project;
  /** `shared.env` with the scenario's lease TTL and `LEDGER`, where the projects' steps log their bodies. */
  env: Record<string, string>;
  workers: SpawnedNode[];
  /** Starts a worker (`src/worker.ts`, or the `wf worker` command) and waits until it is ready. */
  startWorker(viaCli?: boolean): Promise<SpawnedNode>;
  /** Runs `script` with `args` in a process that executes no runs; answers the IDs it printed (`RUNS [...]`). */
  enqueue(script: string, args: (string | number)[]): Promise<string[]>;
  ledger(): string[];
}

const wf = fileURLToPath(new URL("../../../packages/workflow/bin/wf.js", import.meta.url));

/** Sets up a copy of `projectName` on the world, runs `body`, and always kills the workers and cleans up. */
export async function withWorkers<T>(
  open: OpenSharedWorld,
  projectName: "workers" | "step-fan-out" | "pg-streams",
  leaseTtlMs: number,
  body: (s: Scenario) => Promise<T>,
): Promise<T> {
  const project = copyProject(projectName);
  let shared: SharedWorld;
  try {
    shared = await open(project);
  } catch (error) {
    project.cleanup();
    throw error;
  }
  const env = {
    ...shared.env,
    WORKFLOW_LEASE_TTL_MS: String(leaseTtlMs),
    LEDGER: project.file("ledger.txt"),
  };
  const workers: SpawnedNode[] = [];
  const s: Scenario = {
    ...shared,
    project,
    env,
    workers,
    async startWorker(viaCli = false) {
      const worker = spawnNode(project, viaCli ? [wf, "worker", "--sweep", "500"] : ["src/worker.ts"], env);
      workers.push(worker);
      await worker.waitForLine(/^WORKER \d+ ready/, 30_000);
      return worker;
    },
    async enqueue(script, args) {
      const out = await runNode(project, [script, ...args.map(String)], {
        env: { ...env, WORKFLOW_EXECUTE_RUNS: "0" },
      });
      return JSON.parse(/RUNS (.*)/.exec(out.stdout)![1]!) as string[];
    },
    ledger: () => (existsSync(env.LEDGER) ? readFileSync(env.LEDGER, "utf8").trim().split("\n") : []),
  };
  try {
    const result = await body(s);
    await shared.verify?.();
    return result;
  } finally {
    for (const w of workers) {
      w.child.kill("SIGCONT");
      w.child.kill("SIGKILL");
    }
    await Promise.all(workers.map((w) => w.done));
    await shared.close();
    project.cleanup();
  }
}

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

async function completedCount(world: World): Promise<number> {
  return (await world.listRuns({ status: "completed", limit: 1000 })).items.length;
}

async function allCompleted(world: World, ids: string[]): Promise<void> {
  await waitUntil(async () => {
    for (const id of ids) if ((await world.getRun(id))?.status !== "completed") return false;
    return true;
  }, 60_000);
}

/**
 * `projects/workers`' fanOut runs: all completed with their result, each of the 4 steps recorded once, logs dense,
 * every body run at least once. Answers how many bodies ran more than once.
 */
export async function checkFanOutRuns(s: Scenario, ids: string[]): Promise<number> {
  await waitUntil(async () => (await completedCount(s.world)) === ids.length, 60_000);
  // Step bodies may run more than once (their worker died mid-step), but each result is recorded once.
  const executions = s.ledger();
  const distinct = new Set(executions.map((line) => line.split(" ")[0]));
  expect(distinct.size).toBe(ids.length * 3);
  const engine = engineForWorld(s.world);
  for (const [i, id] of ids.entries()) {
    checkLog(await s.world.readEvents(id), 4);
    expect(await new Run<number>(id, engine).returnValue).toBe(3 * i + 6);
  }
  return executions.length - distinct.size;
}

/** 3 workers (one of them `wf worker`) execute `runs` runs while one is SIGKILLed and replaced every 250 ms. */
export async function workersKilledAndReplaced(open: OpenSharedWorld, runs = 200): Promise<void> {
  await withWorkers(open, "workers", 2000, async (s) => {
    const [cli] = await Promise.all([s.startWorker(true), s.startWorker(), s.startWorker()]);
    expect(await cli.waitForLine(/^WORKER \d+ ready/)).toMatch(`on the ${s.world.name} world`);
    const ids = await s.enqueue("src/enqueue.ts", [runs]);
    expect(ids).toHaveLength(runs);
    let kills = 0;
    for (let round = 0; round < 8; round++) {
      // the first kill comes at once: the runs enqueued last cannot have finished yet
      if (round > 0) await new Promise((r) => setTimeout(r, 250));
      if ((await completedCount(s.world)) === runs) break;
      const slot = round % s.workers.length;
      s.workers[slot]!.child.kill("SIGKILL");
      await s.workers[slot]!.done;
      kills++;
      s.workers[slot] = spawnNode(s.project, ["src/worker.ts"], s.env);
    }
    expect(kills).toBeGreaterThan(0);
    const repeated = await checkFanOutRuns(s, ids);
    console.log(`${kills} kills; ${repeated} step bodies executed more than once`);
  });
}

/** A worker frozen (SIGSTOP) past its lease, then thawed, records nothing once another worker took over. */
export async function frozenWorkerRecordsNothing(open: OpenSharedWorld): Promise<void> {
  await withWorkers(open, "workers", 1000, async (s) => {
    const read = () => s.ledger().join("\n");
    const frozen = await s.startWorker();
    const out = await runNode(s.project, ["src/enqueue-one.ts", "frozenExecutor"], {
      env: { ...s.env, WORKFLOW_EXECUTE_RUNS: "0" },
    });
    const runId = /RUN (\S+)/.exec(out.stdout)![1]!;
    await waitUntil(() => read().includes(` 1 ${frozen.child.pid}`));
    frozen.child.kill("SIGSTOP");

    const rescuer = spawnNode(s.project, ["src/worker.ts"], s.env);
    s.workers.push(rescuer);
    await waitUntil(async () => (await s.world.getRun(runId))?.status === "completed");
    const before = await s.world.readEvents(runId);

    // Thaw the frozen worker: its first attempt now finishes and tries to record its result.
    frozen.child.kill("SIGCONT");
    await waitUntil(() =>
      s.ledger().some((line) => line.startsWith("end ") && line.endsWith(` 1 ${frozen.child.pid}`)),
    );
    await new Promise((r) => setTimeout(r, 500)); // its attempt to record the result has been made and refused
    const after = await s.world.readEvents(runId);
    expect(after).toEqual(before);
    expect(after.map((e) => e.seq)).toEqual(after.map((_, k) => k + 1));
    expect(after.filter((e) => e.type === "step_completed")).toHaveLength(1);
    const output = await new Run<string>(runId, engineForWorld(s.world)).returnValue;
    expect(output).toBe(`attempt 2 by ${rescuer.child.pid}`);
  });
}

type Part = { k: number; pid: number; attempt: number };

/** Runs' `Promise.all` steps run in several workers; only the executor records them, once each. */
export async function stepsSpreadOverWorkers(open: OpenSharedWorld): Promise<void> {
  await withWorkers(open, "step-fan-out", 5000, async (s) => {
    await Promise.all([s.startWorker(), s.startWorker(), s.startWorker()]);
    const workerPids = new Set(s.workers.map((w) => w.child.pid));
    const ids = await s.enqueue("src/enqueue.ts", [6, 8, 150]);
    await allCompleted(s.world, ids);
    const engine = engineForWorld(s.world);
    let spreadRuns = 0;
    const allPids = new Set<number>();
    for (const id of ids) {
      checkLog(await s.world.readEvents(id), 8);
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
    expect(s.ledger()).toHaveLength(ids.length * 8);
    // Recorded tasks were removed by their executors.
    const tasks = s.world.listStepTasks!.bind(s.world);
    for (const id of ids) await waitUntil(async () => (await tasks(id)).length === 0);
  });
}

/** A worker SIGKILLed while it holds claimed steps loses none of them: another worker runs them again. */
export async function claimerKilledLosesNoStep(open: OpenSharedWorld): Promise<void> {
  await withWorkers(open, "step-fan-out", 1500, async (s) => {
    await Promise.all([s.startWorker(), s.startWorker(), s.startWorker()]);
    const tasks = s.world.listStepTasks!.bind(s.world);
    // Find a worker that is not the run's executor and holds a claim, and kill it in the middle of the step. On a
    // machine so loaded that the other workers miss the executor's head start, the executor claims its own offers
    // and no such worker exists: that run proves nothing, and a new one is tried.
    let runId = "";
    let victim: SpawnedNode | undefined;
    let stolen: string[] = [];
    for (let attempt = 1; !victim; attempt++) {
      expect(attempt, "runs whose steps no other worker claimed").toBeLessThanOrEqual(3);
      [runId] = (await s.enqueue("src/enqueue.ts", [1, 6, 2_500])) as [string];
      await waitUntil(async () => {
        const executor = await s.executorOf(runId);
        const held = await tasks(runId);
        for (const w of s.workers) {
          const owner = (o: string | undefined) => o?.startsWith(`${w.child.pid}:`) === true;
          const mine = held.filter((task) => task.status === "claimed" && owner(task.claim?.owner));
          if (mine.length > 0 && !owner(executor)) {
            victim = w;
            stolen = mine.map((task) => task.correlationId);
            return true;
          }
        }
        return (await s.world.getRun(runId))?.status === "completed";
      });
    }
    // Its bodies have started (the ledger says so) before it dies.
    await waitUntil(() =>
      stolen.every((cid) => s.ledger().some((l) => l.includes(`${runId}/${cid} 1 ${victim!.child.pid}`))),
    );
    victim!.child.kill("SIGKILL");
    await victim!.done;

    await allCompleted(s.world, [runId]);
    const events = await s.world.readEvents(runId);
    checkLog(events, 6);
    const parts = await new Run<Part[]>(runId, engineForWorld(s.world)).returnValue;
    expect(parts.map((p) => p.k)).toEqual([0, 1, 2, 3, 4, 5]);
    const byCid = new Map(parts.map((p, k) => [`step_${String(k + 1).padStart(4, "0")}`, p]));
    for (const cid of stolen) {
      // Recorded from a survivor, with the attempt the log started (a lost claim does not consume one).
      expect(byCid.get(cid)!.pid).not.toBe(victim!.child.pid);
      expect(byCid.get(cid)!.attempt).toBe(1);
      expect(s.ledger().filter((l) => l.includes(`${runId}/${cid} `)).length).toBeGreaterThanOrEqual(2);
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
export async function streamFollowedAcrossProcesses(open: OpenSharedWorld): Promise<void> {
  await withWorkers(open, "pg-streams", 10_000, async (s) => {
    const worker = await s.startWorker();
    const workerPid = Number(/WORKER (\d+)/.exec(await worker.waitForLine(/^WORKER \d+ ready/))![1]);

    const ack = s.project.file("ack");
    const watcher = spawnNode(s.project, ["src/watch.ts", ack], { ...s.env, WORKFLOW_EXECUTE_RUNS: "0" });
    s.workers.push(watcher);
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
