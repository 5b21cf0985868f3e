import {
  type CodeProvider,
  configureRuntime,
  deleteSchedule,
  Engine,
  getEngine,
  schedule,
  tickRunId,
  worldFromEnv,
} from "@wfkit/core";
import { createMemoryWorld } from "@wfkit/world";
import { getTestDatabase, type TestDatabase } from "@wfkit/world-postgres/testing";
import { afterEach, describe, expect, it } from "vitest";
import { createFlowHandler } from "./flow-handler.js";
import { type QueueService, startQueueService } from "./testing/queue-service.js";
import { createTickHandler } from "./tick-handler.js";
import { isTickMessage, TICK_PATH } from "./ticks.js";
import { createVercelWorld, FLOW_TOPIC, type VercelWorld } from "./vercel-world.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

// A workflow bundle as the compiler emits it (the ABI of @wfkit/core's sandbox), and its step in the registry.
const WORKFLOW = "workflow//./vw//double";
const STEP = "step//./vw//twice";
const registry = globalThis as Record<symbol, Map<string, unknown>>;
registry[Symbol.for("wfkit.steps")] ??= new Map();
registry[Symbol.for("wfkit.steps")]!.set(STEP, async (n: number) => n * 2);
const code: CodeProvider = {
  async getWorkflowBundle() {
    return {
      filename: "vw.js",
      code: `(() => {
        const step = (id) => (...args) => globalThis[Symbol.for("wfkit.useStep")](id)(...args);
        (globalThis[Symbol.for("wfkit.workflows")] ??= new Map()).set(${JSON.stringify(WORKFLOW)},
          async function double(n) { const a = await step(${JSON.stringify(STEP)})(n); return await step(${JSON.stringify(STEP)})(a); });
      })();`,
    };
  },
  async loadStep() {},
};

async function setup(): Promise<{ db: TestDatabase; service: QueueService; world: VercelWorld }> {
  const db = await getTestDatabase();
  cleanups.push(() => db.cleanup());
  const service = await startQueueService();
  cleanups.push(() => service.close());
  const world = await createVercelWorld({
    storage: { url: db.url, schema: db.schema },
    queue: { url: service.url, token: service.token },
  });
  cleanups.push(() => world.close());
  return { db, service, world };
}

/** The world, its flow function consuming the queue (the invocations' outcomes recorded), an app that only starts. */
async function serverless() {
  const { service, world } = await setup();
  const outcomes: string[] = [];
  service.subscribe({
    topic: FLOW_TOPIC,
    deliver: createFlowHandler({
      world,
      codeProvider: code,
      budgetMs: 10_000,
      onInvocation: (r) => outcomes.push(r.outcome),
    }),
  });
  const app = new Engine({ world, executeRuns: false });
  cleanups.push(() => app.close());
  return { service, world, app, outcomes };
}

describe("createVercelWorld", () => {
  it("is the Postgres world underneath and sends a flow message for whatever needs an executor", async () => {
    const { service, world } = await setup();
    expect(world.name).toBe("vercel");
    const { run } = await world.createRun({ workflowName: WORKFLOW, input: "[]" });
    expect(await world.storage.getRun(run.runId)).toMatchObject({ runId: run.runId, status: "pending" });
    expect(service.sent(FLOW_TOPIC).map((m) => m.payload)).toEqual([{ runId: run.runId }]);

    // An executor's append (under the lease) is no news; an operator's append (no lease) is.
    const lease = await world.acquireLease(run.runId, "me", 10_000);
    await world.append(run.runId, 1, [{ type: "run_started" }], { lease: lease! });
    expect(service.sent(FLOW_TOPIC)).toHaveLength(1);
    await world.releaseLease(lease!);
    await world.append(run.runId, 2, [{ type: "run_cancelled", data: { reason: "test" } }]);
    expect(service.sent(FLOW_TOPIC)).toHaveLength(2);
  });

  it("refuses a queue URL that is not a URL", async () => {
    await expect(createVercelWorld({ queue: { url: "localhost:4100" } })).rejects.toThrow(
      /WORKFLOW_VERCEL_QUEUE_URL must be an absolute URL/,
    );
  });
});

describe("createFlowHandler", () => {
  it("drives a run started by a process that does not execute runs, through queue invocations", async () => {
    const { service, world, app, outcomes: results } = await serverless();
    const runId = await app.start(WORKFLOW, [5]);
    await service.idle(10_000);
    const run = await world.getRun(runId);
    expect(run?.status).toBe("completed");
    expect(run?.output).toContain("20");
    expect(results).toEqual(["ended"]);
    expect(service.sent(FLOW_TOPIC).every((m) => m.acknowledged)).toBe(true);
  });
});

describe("WORKFLOW_TARGET_WORLD=vercel", () => {
  it("selects this world, configured from the environment, and the app's engine leaves execution to invocations", async () => {
    const db = await getTestDatabase();
    cleanups.push(() => db.cleanup());
    const service = await startQueueService();
    cleanups.push(() => service.close());
    const env = {
      WORKFLOW_TARGET_WORLD: "vercel",
      WORKFLOW_POSTGRES_URL: db.url,
      WORKFLOW_POSTGRES_SCHEMA: db.schema,
      WORKFLOW_VERCEL_QUEUE_URL: service.url,
      WORKFLOW_VERCEL_QUEUE_TOKEN: service.token,
    };
    const world = await worldFromEnv(env);
    cleanups.push(() => world.close());
    expect(world.name).toBe("vercel");
    const { run } = await world.createRun({ workflowName: WORKFLOW, input: "[]" });
    expect(service.sent(FLOW_TOPIC).map((m) => m.payload)).toEqual([{ runId: run.runId }]);

    configureRuntime({ world, codeProvider: code });
    cleanups.push(() => configureRuntime({ world: createMemoryWorld() }));
    expect(getEngine().executes).toBe(false);
  });
});

describe("schedules on the Vercel world", () => {
  async function scheduled(world: VercelWorld, name: string): Promise<{ runId: string; tick: number }[]> {
    const runs = (await world.listRuns({ limit: 1000 })).items;
    return runs
      .map((r) => ({ runId: r.runId, schedule: r.metadata?.schedule as { name: string; tick: number } }))
      .filter((r) => r.schedule?.name === name)
      .map((r) => ({ runId: r.runId, tick: r.schedule.tick }))
      .sort((a, b) => a.tick - b.tick);
  }

  it("schedule() arms the ticks as delayed messages; each tick starts one run however often it is handled", async () => {
    const { service, world } = await setup();
    service.subscribe({
      topic: FLOW_TOPIC,
      deliver: createFlowHandler({ world, codeProvider: code, budgetMs: 10_000 }),
    });
    await schedule("every-second", WORKFLOW, { cron: "* * * * * *", args: [1], overlap: "allow", world });
    const armed = service.sent(FLOW_TOPIC).filter((m) => isTickMessage(m.payload));
    // Until the next heartbeat (every minute by default) and a minute more.
    expect(armed.length).toBeGreaterThanOrEqual(110);
    await new Promise((r) => setTimeout(r, 3_500));
    // Three heartbeats at once and every armed message again: nothing new for the ticks already handled.
    const tickHandler = createTickHandler({ world });
    const beats = await Promise.all([1, 2, 3].map(() => tickHandler(new Request(`http://x${TICK_PATH}`))));
    expect(beats.map((r) => r.status)).toEqual([200, 200, 200]);
    const runs = await scheduled(world, "every-second");
    expect(runs.length).toBeGreaterThanOrEqual(3);
    expect(new Set(runs.map((r) => r.tick)).size).toBe(runs.length);
    for (const [i, r] of runs.entries()) {
      expect(r.runId).toBe(tickRunId("every-second", r.tick));
      if (i > 0) expect(r.tick - runs[i - 1]!.tick).toBe(1000);
    }
    await deleteSchedule("every-second", { world });
  }, 30_000);

  it("after downtime a heartbeat follows catchUp: latest starts one run for the missed ticks, none starts none", async () => {
    const { world } = await setup();
    const longAgo = Date.now() - 3 * 3600_000;
    // Hourly, its latest tick two minutes ago (later than the 60 s grace): missed, whatever the clock says now.
    const missed = Math.floor(Date.now() / 60_000) * 60_000 - 2 * 60_000;
    const cron = `${new Date(missed).getUTCMinutes()} * * * *`;
    // Stored as if created three hours ago, and no tick handled since (no heartbeat, no message).
    await schedule("template", WORKFLOW, { cron: "0 0 1 1 *", args: [2], world });
    const { args } = (await world.getSchedule("template"))!;
    await deleteSchedule("template", { world });
    for (const catchUp of ["latest", "none"] as const) {
      await world.storage.putSchedule(
        { name: catchUp, workflowName: WORKFLOW, cron, args, overlap: "allow", catchUp },
        longAgo,
      );
    }
    const tickHandler = createTickHandler({ world });
    await Promise.all([1, 2].map(() => tickHandler(new Request(`http://x${TICK_PATH}`))));
    const latest = await scheduled(world, "latest");
    expect(latest).toHaveLength(1);
    expect(latest[0]!.tick).toBe(missed);
    expect(await scheduled(world, "none")).toHaveLength(0);
    // Both moved on: their next tick is the next hour's.
    for (const name of ["latest", "none"]) {
      expect((await world.getSchedule(name))?.lastTick).toBe(latest[0]!.tick);
    }
  }, 30_000);

  it("refuses a heartbeat without the cron secret when CRON_SECRET is set", async () => {
    const { world } = await setup();
    const tickHandler = createTickHandler({ world, secret: "s3cret" });
    expect((await tickHandler(new Request(`http://x${TICK_PATH}`))).status).toBe(401);
    const ok = await tickHandler(
      new Request(`http://x${TICK_PATH}`, { headers: { authorization: "Bearer s3cret" } }),
    );
    expect(ok.status).toBe(200);
  });
});

describe("flow control on the Vercel world", () => {
  it("a concurrency limit: refused runs are acknowledged (gated) and the invocation that frees a slot sends the next one its message", async () => {
    const { service, world, app, outcomes } = await serverless();
    const flow = { concurrency: { gate: "concurrency:vw-test", limit: 1 } };
    const runs = await Promise.all([1, 2, 3].map((n) => app.start(WORKFLOW, [n], { flow })));
    await service.idle(20_000);
    for (const runId of runs) expect((await world.getRun(runId))?.status).toBe("completed");
    // Refused runs were acknowledged as gated; each run ended (later messages, such as the look-again of a
    // refused run, find it ended).
    expect(outcomes).toContain("gated");
    expect(outcomes.filter((o) => o === "ended").length).toBeGreaterThanOrEqual(3);
  }, 30_000);
});
