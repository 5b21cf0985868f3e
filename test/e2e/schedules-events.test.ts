/**
 * Schedules and events with real processes on the local, Postgres, SQLite and Redis worlds: three workers fire every tick of a
 * schedule exactly once; a tick that falls while every worker is down runs after the restart (catchUp "latest");
 * one emit reaches 100 waiting runs once each, also when it is repeated; a triggered workflow starts once per event
 * ID; waitForEvent's timeout ends a wait.
 */
import { readFileSync } from "node:fs";
import { tickRunId } from "@wfkit/core";
import { schedulesOf } from "@wfkit/world";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { resultOf, runNode, type SpawnedNode, spawnNode } from "./support/process.js";
import { type WorldSetup, worldSetups } from "./support/world-setups.js";

const ALL = worldSetups("schedules-events", (project) => ({
  LEDGER: project.file("ledger.txt"),
  WORKFLOW_LEASE_TTL_MS: "2000",
  WORKFLOW_SCHEDULE_POLL_MS: "300",
}));
const WORLDS = ALL;

const TICK = "workflow//src/workflows.ts//tick";

const ledger = (s: WorldSetup) => {
  try {
    return readFileSync(s.project.file("ledger.txt"), "utf8").trim().split("\n").filter(Boolean);
  } catch {
    return [];
  }
};

async function until(
  check: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.each(Object.keys(WORLDS))("schedules and events across processes (%s world)", (worldName) => {
  let s: WorldSetup;
  const running: SpawnedNode[] = [];
  const app = (args: string[], env: Record<string, string> = {}) =>
    runNode(s.project, ["src/main.ts", ...args], { env: { ...s.env, ...env } });
  /** An app process that only records (no executing, no scheduler): workers do the work. */
  const recorder = (args: string[]) => app(args, { WORKFLOW_EXECUTE_RUNS: "0" });
  const worker = async () => {
    const w = spawnNode(s.project, ["src/main.ts", "worker"], s.env);
    running.push(w);
    await w.waitForLine(/^WORKER \d+ ready/, 30_000);
    return w;
  };
  const tickRuns = async () =>
    (await s.world.listRuns({ workflowName: TICK, limit: 1000 })).items.map((r) => ({
      runId: r.runId,
      status: r.status,
      tick: (r.metadata!.schedule as { tick: number }).tick,
    }));

  beforeEach(async () => {
    s = await WORLDS[worldName as keyof typeof WORLDS]();
  });
  afterEach(async () => {
    for (const p of running.splice(0)) p.child.kill("SIGKILL");
    await s.cleanup();
  });

  it("three workers start exactly one run per tick", async () => {
    await Promise.all([worker(), worker(), worker()]);
    await recorder(["schedule", "every-second", "* * * * * *"]);
    await until(
      async () => (await tickRuns()).filter((r) => r.status === "completed").length >= 6,
      "6 ticks",
    );
    await schedulesOf(s.world)!.setSchedulePaused("every-second", true);
    await new Promise((r) => setTimeout(r, 1_500)); // a tick handled as the pause landed finishes
    const runs = await tickRuns();
    await until(
      async () => (await tickRuns()).every((r) => r.status === "completed"),
      "the last runs to end",
    );

    const ticks = runs.map((r) => r.tick);
    expect(new Set(ticks).size).toBe(ticks.length); // one run per tick
    for (const r of runs) {
      expect(r.runId).toBe(tickRunId("every-second", r.tick));
      expect(r.tick % 1000).toBe(0);
    }
    // Each run's step ran once, in one of the workers.
    const lines = ledger(s).filter((l) => l.startsWith("tick every-second "));
    expect(lines.sort()).toEqual(runs.map((r) => `tick every-second ${r.runId}`).sort());
  }, 120_000);

  it("a tick that falls while every worker is down runs after the restart (catchUp latest)", async () => {
    const first = await worker();
    // Once a minute, at a second a few seconds from now: the tick falls while the worker is down.
    const tickAt = Math.ceil((Date.now() + 6_000) / 1000) * 1000;
    const cron = `${new Date(tickAt).getUTCSeconds()} * * * * *`;
    await recorder(["schedule", "minutely", cron, "latest"]);
    first.child.kill("SIGKILL");
    await first.done;
    expect(Date.now()).toBeLessThan(tickAt - 500); // down before the tick
    await until(() => Date.now() > tickAt + 1_500, "the tick to pass");
    expect(await tickRuns()).toEqual([]);
    const restartAt = Date.now();
    await worker();
    await until(
      async () => (await tickRuns()).some((r) => r.tick === tickAt && r.status === "completed"),
      "the missed tick's run",
    );
    const runs = await tickRuns();
    expect(runs.map((r) => r.tick)).toEqual([tickAt]);
    expect(runs[0]!.runId).toBe(tickRunId("minutely", tickAt));
    const created = (await s.world.getRun(runs[0]!.runId))!.createdAt;
    expect(created).toBeGreaterThanOrEqual(restartAt);
  }, 120_000);

  it("one emit reaches 100 waiting runs once each, also when it is repeated", async () => {
    await Promise.all([worker(), worker()]);
    const { runs } = resultOf(await recorder(["waiters", "100"])) as { runs: string[] };
    const store = schedulesOf(s.world)!;
    await until(
      async () => (await store.listHooksByTokenPrefix("wfevent:order.paid:")).length === 100,
      "100 runs waiting",
    );
    const first = resultOf(await recorder(["emit", "order.paid", '{"amount":7}', "evt-100"]));
    expect(first.delivered.sort()).toEqual([...runs].sort());
    // A retried emit of the same event (a lost answer) delivers nothing twice.
    await recorder(["emit", "order.paid", '{"amount":8}', "evt-100"]);
    await until(async () => {
      const page = await s.world.listRuns({
        workflowName: "workflow//src/workflows.ts//waitForOrder",
        limit: 200,
      });
      return page.items.filter((r) => r.status === "completed").length === 100;
    }, "100 runs to finish");
    for (const runId of runs) {
      // One delivery per run. (Two executors racing to consume it may both log it; replay counts a delivery ID once,
      // as for any hook payload, and the ledger below shows each run acted on it once.)
      const received = (await s.world.readEvents(runId)).filter((e) => e.type === "hook_received");
      const ids = new Set(received.map((e) => (e.data as { deliveryId?: string }).deliveryId));
      expect([...ids]).toEqual([expect.stringMatching(/^evt-100:/)]);
    }
    const lines = ledger(s).filter((l) => l.startsWith("paid "));
    expect(lines).toHaveLength(100);
    expect(new Set(lines).size).toBe(100);
    expect(lines.every((l) => l.endsWith(" evt-100"))).toBe(true);
  }, 120_000);

  it("a triggered workflow starts once per event ID; waitForEvent's timeout ends a wait", async () => {
    await worker();
    await recorder(["trigger"]);
    const a = resultOf(await recorder(["emit", "signup", '{"user":"ada"}', "s-1"]));
    const again = resultOf(await recorder(["emit", "signup", '{"user":"ada"}', "s-1"]));
    const b = resultOf(await recorder(["emit", "signup", '{"user":"bob"}', "s-2"]));
    expect(a.started).toHaveLength(1);
    expect(again.started).toEqual(a.started);
    expect(b.started[0]).not.toBe(a.started[0]);
    await until(() => ledger(s).filter((l) => l.startsWith("signup ")).length >= 2, "two signups");
    await new Promise((r) => setTimeout(r, 500));
    expect(
      ledger(s)
        .filter((l) => l.startsWith("signup "))
        .sort(),
    ).toEqual(["signup s-1 ada", "signup s-2 bob"]);
    const runs = await s.world.listRuns({ workflowName: "workflow//src/workflows.ts//onSignup" });
    expect(runs.items).toHaveLength(2);

    // emit() from workflow code and from step code starts the triggered workflow too.
    expect(resultOf(await app(["relay"]))).toEqual({ fromWorkflow: 1, fromStep: 1 });
    await until(() => ledger(s).filter((l) => l.startsWith("signup ")).length >= 4, "four signups");
    const relayed = ledger(s).filter((l) => / (carol|dave)$/.test(l));
    expect(relayed).toHaveLength(2);
    expect(relayed).toContain("signup step-dave dave");

    const timedOut = resultOf(await app(["wait-in-vain"]));
    expect(timedOut).toEqual({ timedOut: true, code: "EVENT_TIMEOUT" });
  }, 120_000);
});
