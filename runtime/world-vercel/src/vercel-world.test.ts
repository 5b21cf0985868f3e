import { type CodeProvider, configureRuntime, Engine, getEngine, worldFromEnv } from "@wfkit/core";
import { createMemoryWorld } from "@wfkit/world";
import { getTestDatabase, type TestDatabase } from "@wfkit/world-postgres/testing";
import { afterEach, describe, expect, it } from "vitest";
import { createFlowHandler } from "./flow-handler.js";
import { type QueueService, startQueueService } from "./testing/queue-service.js";
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
    const { service, world } = await setup();
    const results: string[] = [];
    service.subscribe({
      topic: FLOW_TOPIC,
      deliver: createFlowHandler({
        world,
        codeProvider: code,
        budgetMs: 10_000,
        onInvocation: (r) => results.push(r.outcome),
      }),
    });
    const app = new Engine({ world, executeRuns: false });
    cleanups.push(() => app.close());
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
