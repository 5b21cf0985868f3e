/**
 * Schedules, events and flow control on the Vercel world, simulated as `serverless-vercel.test.ts` does: the
 * Build Output of `wf build --target vercel`, every queue message handled by the flow function in a fresh Node
 * process (killed at its maxDuration), the tick function (what the heartbeat cron job calls) in fresh processes
 * too, the loopback stand-in of Vercel Queues, Postgres. The app processes only record (the Vercel world's app
 * engine executes nothing).
 */
import { readFileSync } from "node:fs";
import { freshProcessInvoker } from "@wfkit/world-vercel/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyProject, type Project, runNode } from "./support/process.js";
import {
  checkBuildOutput,
  cli,
  type Simulation,
  simulate,
  TICK,
  useCleanups,
} from "./support/vercel-simulation.js";

useCleanups();
let project: Project;

beforeAll(async () => {
  project = copyProject("serverless-triggers");
  const built = await runNode(project, [cli(), "build", "--target", "vercel", "--max-duration", "3"]);
  expect(built.code, built.stderr).toBe(0);
  expect(checkBuildOutput(project.file(".vercel/output"))).toEqual([]);
}, 120_000);
afterAll(() => project?.cleanup());

/**
 * Many invocations start at once in these tests (the stand-in pushes every due message at once, as Vercel scales
 * out): their cold starts on a busy two-core machine take longer than the default hard kill allows.
 */
const ROOMY = { maxDurationMs: 12_000 };

/** One command of the app (`src/main.ts`), in its own process; its printed result. */
async function app(sim: Simulation, ...args: string[]): Promise<any> {
  const result = await runNode(project, ["src/main.ts", ...args], { env: sim.env, allowFailure: true });
  expect(result.code, result.stdout + result.stderr).toBe(0);
  const line = result.stdout.split("\n").find((l) => l.startsWith("RESULT "));
  return JSON.parse(line!.slice("RESULT ".length));
}

/**
 * The tick function's hard kill: a cold start takes about a second here, and three at once on a busy two-core
 * machine several (the platform's maxDuration does not count the cold start).
 */
const TICK_MAX_DURATION_MS = 20_000;

/**
 * Calls the tick function as the cron job does: a GET in a fresh process, with the cron secret (the project sets
 * `CRON_SECRET`); `authorized: false` leaves the secret out, as any other caller would.
 */
function tickFunction(sim: Simulation, { authorized = true } = {}): () => Promise<Response> {
  const vc = JSON.parse(readFileSync(project.file(`${TICK}/.vc-config.json`), "utf8"));
  const invoke = freshProcessInvoker({
    entry: project.file(`${TICK}/index.mjs`),
    maxDurationMs: TICK_MAX_DURATION_MS,
    cwd: project.dir,
    env: { ...vc.environment, ...sim.functionEnv, CRON_SECRET: "cron-secret" },
  });
  return () =>
    invoke(
      new Request("https://app.example/.well-known/workflow/v1/tick", {
        headers: authorized ? { authorization: "Bearer cron-secret", "user-agent": "vercel-cron/1.0" } : {},
      }),
    );
}

function ledger(file: string): string[] {
  try {
    return readFileSync(file, "utf8").trim().split("\n").filter(Boolean);
  } catch {
    return [];
  }
}

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000) {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function allCompleted(sim: Simulation, runIds: string[]): Promise<boolean> {
  const runs = await Promise.all(runIds.map((id) => sim.world.getRun(id)));
  return runs.every((r) => r?.status === "completed");
}

/** The tick a schedule's run was started for (its `metadata.schedule`). */
const tickOf = (run: { metadata?: Record<string, unknown> }) =>
  (run.metadata?.schedule as { tick?: number } | undefined)?.tick ?? Number.NaN;

async function runsOf(sim: Simulation, workflowSuffix: string) {
  const { items } = await sim.world.listRuns({ limit: 1000 });
  return items.filter((r) => r.workflowName.endsWith(workflowSuffix));
}

describe("schedules on Vercel: the heartbeat cron job and armed tick messages", () => {
  it("one run per tick, with the tick function invoked concurrently and every tick message handled", async () => {
    const file = project.file("ledger-ticks.jsonl");
    const sim = await simulate(project, { env: { LEDGER: file }, ...ROOMY });
    // Every 5 s (each tick, each run and each heartbeat is a process start here: a faster cron saturates the
    // two cores of the test machine).
    await app(sim, "schedule", "every-5s", "*/5 * * * * *");
    const beat = tickFunction(sim);
    // Three cron invocations at once, twice, while the armed tick messages fire.
    for (let round = 0; round < 2; round++) {
      const answers = await Promise.all([beat(), beat(), beat()]);
      expect(answers.map((r) => r.status)).toEqual([200, 200, 200]);
      await new Promise((r) => setTimeout(r, 5_000));
    }
    await app(sim, "unschedule", "every-5s");
    const started = await runsOf(sim, "//tick");
    expect(started.length).toBeGreaterThanOrEqual(2);
    await until(
      "the tick runs to complete",
      async () => (await runsOf(sim, "//tick")).every((r) => r.status === "completed"),
      60_000,
    );
    const ticks = started.map(tickOf).sort((a, b) => a - b);
    // One run per tick: no tick twice, and none skipped between the first and the last.
    expect(new Set(ticks).size).toBe(ticks.length);
    expect(ticks.at(-1)! - ticks[0]!).toBe((ticks.length - 1) * 5000);
    // Each run's step ran once.
    const lines = ledger(file);
    for (const run of started) expect(lines.filter((l) => l.endsWith(run.runId))).toHaveLength(1);
    // How late a tick's run was created after its tick (the queue's whole seconds plus a process start).
    const lateness = started.map((r) => r.createdAt - tickOf(r));
    expect(Math.max(...lateness)).toBeLessThan(10_000);
    console.log(`tick runs created ${Math.min(...lateness)}-${Math.max(...lateness)} ms after their tick`);
  }, 150_000);

  it("after downtime (no heartbeat, no tick message) the tick function follows catchUp, from two processes at once", async () => {
    const sim = await simulate(project);
    // A schedule created through the app gives the stored form of the arguments.
    await app(sim, "schedule", "template", "0 0 1 1 *");
    const { args, workflowName } = (await sim.world.getSchedule("template"))!;
    // Hourly, the latest tick two minutes ago: later than any grace, so it was missed.
    const missed = Math.floor(Date.now() / 60_000) * 60_000 - 2 * 60_000;
    const cron = `${new Date(missed).getUTCMinutes()} * * * *`;
    const threeHoursAgo = Date.now() - 3 * 3_600_000;
    for (const catchUp of ["latest", "none"] as const) {
      await sim.world.putSchedule(
        { name: catchUp, workflowName, cron, args, overlap: "allow", catchUp },
        threeHoursAgo,
      );
    }
    const beat = tickFunction(sim);
    expect((await Promise.all([beat(), beat()])).map((r) => r.status)).toEqual([200, 200]);
    const runs = await runsOf(sim, "//tick");
    const bySchedule = (name: string) =>
      runs.filter((r) => (r.metadata?.schedule as { name: string } | undefined)?.name === name);
    // catchUp "latest": one run, for the latest missed tick (not one per missed hour).
    expect(bySchedule("latest").map(tickOf)).toEqual([missed]);
    // catchUp "none": nothing for the missed ticks; both go on from the latest one.
    expect(bySchedule("none")).toEqual([]);
    expect((await sim.world.getSchedule("latest"))?.lastTick).toBe(missed);
    expect((await sim.world.getSchedule("none"))?.lastTick).toBe(missed);
    await until("the caught-up run to complete", async () =>
      (await runsOf(sim, "//tick")).every((r) => r.status === "completed"),
    );
  }, 60_000);

  it("the tick function refuses a caller without the cron secret", async () => {
    const sim = await simulate(project);
    expect((await tickFunction(sim, { authorized: false })()).status).toBe(401);
    expect((await tickFunction(sim)()).status).toBe(200);
  }, 30_000);
});

describe("events on Vercel", () => {
  it("an emit reaches every waiting run once; emitted twice with one ID it is delivered once", {
    timeout: 200_000,
  }, async () => {
    const file = project.file("ledger-events.jsonl");
    const sim = await simulate(project, { env: { LEDGER: file }, ...ROOMY });
    const { runs } = (await app(sim, "waiters", "10")) as { runs: string[] };
    await until(
      "10 runs waiting",
      async () => (await sim.world.listHooksByTokenPrefix("wfevent:order.paid:")).length === 10,
      100_000,
    );
    // Two app processes emit the same event (a retried request) at once.
    const [first, second] = await Promise.all([
      app(sim, "emit", "order.paid", '{"amount":5}', "evt-1"),
      app(sim, "emit", "order.paid", '{"amount":5}', "evt-1"),
    ]);
    expect(first.delivered).toHaveLength(10);
    expect(second.delivered).toHaveLength(10);
    await until("every waiting run to complete", () => allCompleted(sim, runs), 60_000);
    const paid = ledger(file).filter((l) => l.startsWith("paid "));
    expect(paid.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `paid ${i} evt-1`).sort());
    for (const runId of runs) {
      const received = (await sim.world.readEvents(runId)).filter((e) => e.type === "hook_received");
      expect(received).toHaveLength(1);
    }
  });

  it("a trigger starts its workflow once per event ID, from three emitting processes", async () => {
    const file = project.file("ledger-trigger.jsonl");
    const sim = await simulate(project, { env: { LEDGER: file }, ...ROOMY });
    await app(sim, "trigger");
    const results = await Promise.all(
      [1, 2, 3].map(() => app(sim, "emit", "signup", '{"user":"ada"}', "sig-1")),
    );
    const started = new Set(results.flatMap((r) => r.started as string[]));
    expect(started.size).toBe(1);
    await until("the triggered run to complete", async () => {
      const runs = await runsOf(sim, "//onSignup");
      return runs.length === 1 && runs[0]!.status === "completed";
    });
    expect(ledger(file).filter((l) => l.startsWith("signup sig-1 ada"))).toHaveLength(1);
  }, 60_000);
});

describe("flow control on Vercel", () => {
  it("a concurrency limit of 2 is never exceeded across invocations, and every run completes", async () => {
    const file = project.file("ledger-limited.jsonl");
    // Slots last as long as leases: at the simulation's 1.5 s, a slow hand-off on a loaded machine would let the
    // slot expire between two steps (the run then asks again); 5 s is closer to the default 10 s.
    const sim = await simulate(project, { env: { LEDGER: file, WORKFLOW_LEASE_TTL_MS: "5000" }, ...ROOMY });
    const { runs } = (await app(sim, "limited", "6")) as { runs: string[] };
    await until("every limited run to complete", () => allCompleted(sim, runs), 90_000);
    // Steps executing at once (a run executes one step at a time, and only while it holds a slot).
    const steps = new Map<string, { from: number; to: number }>();
    for (const line of ledger(file)) {
      const [kind, tag, at] = line.split(" ");
      const step = steps.get(tag!) ?? { from: Number.NaN, to: Number.NaN };
      if (kind === "start") step.from = Number(at);
      else step.to = Number(at);
      steps.set(tag!, step);
    }
    expect(steps.size).toBe(12);
    const points = [...steps.values()].flatMap((s) => [
      { at: s.from, d: 1 },
      { at: s.to, d: -1 },
    ]);
    points.sort((a, b) => a.at - b.at || a.d - b.d);
    let now = 0;
    let most = 0;
    for (const p of points) {
      now += p.d;
      most = Math.max(most, now);
    }
    expect(most).toBeLessThanOrEqual(2);
    expect(most).toBe(2);
  }, 120_000);
});
