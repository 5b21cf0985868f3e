/**
 * Flow control across processes: an app that only starts runs (`WORKFLOW_EXECUTE_RUNS=0`) and worker processes that
 * execute them, on each world that has flow gates (Postgres with three workers; local, SQLite and Redis with two).
 * Checks what the steps wrote to a ledger file and what the worlds recorded: a concurrency limit is never exceeded
 * under load, a throttle loses no start and never admits more than its rate, a debounced burst becomes one
 * run with the last arguments, waiting runs get a slot in priority order, and a worker SIGKILLed while its run holds
 * a slot does not leak the slot.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { withWaitingFor } from "@wfkit/core";
import { flowGatesOf, type World } from "@wfkit/world";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runNode, type SpawnedNode, spawnNode } from "./support/process.js";
import { type WorldName, type WorldSetup, worldSetups } from "./support/world-setups.js";

const setups = worldSetups("flow-control", (project) => ({
  LEDGER: project.file("ledger.txt"),
  WORKFLOW_LEASE_TTL_MS: "2000",
}));
const WF = fileURLToPath(new URL("../../packages/workflow/bin/wf.js", import.meta.url));
const WORKERS: Record<WorldName, number> = { local: 2, postgres: 3, sqlite: 2, redis: 2 };

interface LedgerLine {
  kind: "start" | "end";
  stepId: string;
  at: number;
  pid: number;
  tag: string;
  attempt: number;
}

describe.each(Object.keys(WORKERS) as WorldName[])("flow control on the %s world", (worldName) => {
  let setup: WorldSetup;
  let world: World;
  const workers: SpawnedNode[] = [];

  const startWorker = async () => {
    const worker = spawnNode(setup.project, ["src/worker.ts"], setup.env);
    await worker.waitForLine(/^WORKER \d+ ready/, 30_000);
    return worker;
  };

  beforeAll(async () => {
    setup = await setups[worldName]();
    world = setup.world;
    writeFileSync(setup.env.LEDGER!, "");
    workers.push(...(await Promise.all(Array.from({ length: WORKERS[worldName] }, startWorker))));
  }, 60_000);

  afterAll(async () => {
    for (const w of workers) w.child.kill("SIGKILL");
    await Promise.all(workers.map((w) => w.done));
    await setup?.cleanup();
  });

  /** Starts runs from an app process that executes nothing; answers their IDs in start order. */
  const startRuns = async (workflow: string, starts: [unknown[], number?][], gapMs = 0) => {
    const result = await runNode(
      setup.project,
      ["src/start.ts", workflow, JSON.stringify(starts), String(gapMs)],
      {
        env: { ...setup.env, WORKFLOW_EXECUTE_RUNS: "0" },
      },
    );
    return JSON.parse(/RUNS (.*)/.exec(result.stdout)![1]!) as string[];
  };

  const settle = async (ids: string[], timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const runs = await Promise.all(ids.map((id) => world.getRun(id)));
      if (runs.every((r) => r && ["completed", "failed", "cancelled"].includes(r.status)))
        return runs.map((r) => r!);
      if (Date.now() > deadline) {
        const open = runs.filter((r) => r?.status !== "completed").map((r) => `${r?.runId} ${r?.status}`);
        throw new Error(`runs did not finish in time: ${open.join(", ")}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  const ledger = (tagPrefix: string): LedgerLine[] =>
    (existsSync(setup.env.LEDGER!) ? readFileSync(setup.env.LEDGER!, "utf8") : "")
      .trim()
      .split("\n")
      .filter(Boolean)
      .map((line) => {
        const [kind, stepId, at, pid, tag, attempt] = line.split(" ");
        return {
          kind: kind as "start" | "end",
          stepId: stepId!,
          at: Number(at),
          pid: Number(pid),
          tag: tag!,
          attempt: Number(attempt),
        };
      })
      .filter((l) => l.tag.startsWith(tagPrefix));

  /** The largest number of distinct runs whose step bodies overlapped in time. */
  const maxOverlap = (lines: LedgerLine[]) => {
    const running = new Set<string>();
    let max = 0;
    const order = [...lines].sort((a, b) => a.at - b.at || (a.kind === "end" ? -1 : 1));
    for (const l of order) {
      const runId = l.stepId.split("/")[0]!;
      if (l.kind === "start") running.add(runId);
      else running.delete(runId);
      max = Math.max(max, running.size);
    }
    return max;
  };

  it("a concurrency limit of 3 is never exceeded by 30 runs started at once, and every run completes", async () => {
    const ids = await startRuns(
      "limited",
      Array.from({ length: 30 }, (_, i) => [[`load${i}`]]),
    );
    // While they run, operators see why the others wait.
    let sawWaiting = false;
    for (let i = 0; i < 20 && !sawWaiting; i++) {
      const infos = await withWaitingFor(
        world,
        (await Promise.all(ids.map((id) => world.getRun(id)))).filter((r) => !!r),
      );
      sawWaiting = infos.some((r) => r.waitingFor === "concurrency");
      if (!sawWaiting) await new Promise((r) => setTimeout(r, 50));
    }
    const runs = await settle(ids);
    expect(runs.map((r) => r.status)).toEqual(ids.map(() => "completed"));
    expect(sawWaiting).toBe(true);
    const lines = ledger("load");
    expect(lines.filter((l) => l.kind === "end")).toHaveLength(60);
    const overlap = maxOverlap(lines);
    expect(overlap).toBeLessThanOrEqual(3);
    // The limit is used, not merely respected (the runs were not serialised).
    expect(overlap).toBeGreaterThanOrEqual(2);
  }, 120_000);

  it("a throttle of 4 starts per second loses none of 12 starts and admits no more than 4 in any second", async () => {
    const ids = await startRuns(
      "throttled",
      Array.from({ length: 12 }, (_, i) => [[`rate${i}`]]),
    );
    const runs = await settle(ids);
    expect(runs.map((r) => r.status)).toEqual(ids.map(() => "completed"));
    const starts: number[] = [];
    for (const id of ids) {
      const started = (await world.readEvents(id)).find((e) => e.type === "run_started");
      starts.push(started!.createdAt);
    }
    starts.sort((a, b) => a - b);
    // Admission is decided a moment before run_started is stamped: allow that moment.
    for (let i = 4; i < starts.length; i++)
      expect(starts[i]! - starts[i - 4]!).toBeGreaterThanOrEqual(1_000 - 150);
    expect(starts.at(-1)! - starts[0]!).toBeGreaterThanOrEqual(2_000 - 150);
  }, 120_000);

  it("a debounced burst of 10 starts becomes one run with the last arguments; another key gets its own run", async () => {
    const ids = await startRuns(
      "debounced",
      [...Array.from({ length: 10 }, (_, i): [unknown[]] => [["burst", i]]), [["other", 0]]],
      30,
    );
    expect(new Set(ids.slice(0, 10)).size).toBe(1);
    expect(ids[10]).not.toBe(ids[0]);
    const [burst, other] = await settle([ids[0]!, ids[10]!]);
    expect(burst!.output).toContain("burst-9");
    // The run's row and its log hold the arguments it ran with (run_started replaces run_created's).
    const started = (await world.readEvents(burst!.runId)).find((e) => e.type === "run_started");
    const recorded = (started?.data as { input?: string } | undefined)?.input;
    expect(recorded).toBeDefined();
    expect(burst!.input).toBe(recorded);
    expect(other!.output).toContain("other-0");
    const bodies = ledger("burst").filter((l) => l.kind === "start");
    expect(bodies.map((l) => l.tag)).toEqual(["burst-9"]);
  }, 120_000);

  it("runs waiting for the slot get it in priority order", async () => {
    const [blocker] = await startRuns("single", [[["prio-blocker", 4_000]]]);
    const deadline = Date.now() + 30_000;
    while (!ledger("prio-blocker").some((l) => l.kind === "start")) {
      if (Date.now() > deadline) throw new Error("the blocker never started");
      await new Promise((r) => setTimeout(r, 50));
    }
    const waiting = await startRuns("single", [
      [["prio-low", 5], 0],
      [["prio-high", 5], 10],
      [["prio-mid", 5], 5],
    ]);
    // Operators see why they wait: `wf inspect runs` in another process.
    const inspected = await runNode(setup.project, [WF, "inspect", "runs", "--status", "pending", "--json"], {
      env: setup.env,
    });
    const listed = JSON.parse(inspected.stdout) as { data: { runId: string; waitingFor?: string }[] };
    for (const id of waiting) {
      expect(listed.data.find((r) => r.runId === id)?.waitingFor, inspected.stdout).toBe("concurrency");
    }
    await settle([blocker!, ...waiting]);
    const order = ledger("prio")
      .filter((l) => l.kind === "start")
      .map((l) => l.tag);
    expect(order).toEqual(["prio-blocker", "prio-high", "prio-mid", "prio-low"]);
  }, 120_000);

  it("a worker SIGKILLed while its run holds the only slot does not leak it", async () => {
    const [hung] = await startRuns("single", [[["hang-1", 5]]]);
    const deadline = Date.now() + 30_000;
    let holder = ledger("hang-1").find((l) => l.kind === "start");
    while (!holder) {
      if (Date.now() > deadline) throw new Error("the hanging step never started");
      await new Promise((r) => setTimeout(r, 50));
      holder = ledger("hang-1").find((l) => l.kind === "start");
    }
    const [next] = await startRuns("single", [[["after-crash", 5]]]);
    const gates = flowGatesOf(world)!;
    const gateId = "concurrency:workflow//src/flows.ts//single";
    const held = await gates.readFlowGate(gateId);
    expect(Object.keys(JSON.parse(held!.state).holders)).toEqual([hung]);
    const victim = workers.findIndex((w) => w.child.pid === holder.pid);
    expect(victim).toBeGreaterThanOrEqual(0);
    workers[victim]!.child.kill("SIGKILL");
    await workers[victim]!.done;
    workers[victim] = await startWorker();
    // Both runs finish: the dead worker's slot expired with its lease, the run it held was taken over (its step's
    // second attempt ends at once) and the other run got the slot.
    const runs = await settle([hung!, next!]);
    expect(runs.map((r) => r.status)).toEqual(["completed", "completed"]);
    const lines = [...ledger("hang-1"), ...ledger("after-crash")];
    expect(
      lines
        .filter((l) => l.kind === "end")
        .map((l) => `${l.tag} ${l.attempt}`)
        .sort(),
    ).toEqual(["after-crash 1", "hang-1 2"]);
    // Nothing is left holding the slot: the gate is empty (deleted) once both ended.
    const gate = await gates.readFlowGate(gateId);
    expect(gate === undefined ? {} : (JSON.parse(gate.state).holders ?? {})).toEqual({});
    // Never two of them at once (the killed attempt never ended: it counts until the takeover started).
    const completedLines = lines.filter((l) => l.attempt !== 1 || l.tag !== "hang-1");
    expect(maxOverlap(completedLines)).toBeLessThanOrEqual(1);
  }, 120_000);
});
