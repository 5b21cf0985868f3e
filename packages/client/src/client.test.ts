import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createReadToken, createStreamsHandler, toNodeHandler } from "@wfkit/core";
import { createMemoryWorld, type World } from "@wfkit/world";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunListItem, type RunSnapshot, subscribeRun, subscribeRuns } from "./index.js";

const SECRET = "client-test-secret-0123456789-abcdef";
let world: World;
let server: Server;
let base: string;

beforeAll(async () => {
  world = createMemoryWorld();
  const handler = createStreamsHandler({ world, secret: SECRET, longPollTimeoutMs: 500, sseMaxMs: 2000 });
  server = createServer(toNodeHandler((request) => handler(request)));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/workflow/v1`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function append(runId: string, events: Parameters<World["append"]>[2]) {
  const run = await world.getRun(runId);
  await world.append(runId, run!.lastSeq, events);
}

/** Resolves with the first snapshot that satisfies `done`. */
function until<T>(
  runId: string,
  options: Parameters<typeof subscribeRun>[1],
  done: (s: RunSnapshot<T>) => boolean,
): Promise<{ snapshot: RunSnapshot<T>; stop(): void }> {
  return new Promise((resolve) => {
    const sub = subscribeRun<T>(runId, options, (snapshot) => {
      if (done(snapshot)) resolve({ snapshot, stop: () => sub.unsubscribe() });
    });
  });
}

/** A stand-in for the browser's sessionStorage. */
function memoryStorage() {
  const items = new Map<string, string>();
  return {
    getItem: (k: string) => items.get(k) ?? null,
    setItem: (k: string, v: string) => void items.set(k, v),
    removeItem: (k: string) => void items.delete(k),
    items,
  };
}

describe("subscribeRun", () => {
  it("materialises the run's state and output live", async () => {
    const { run } = await world.createRun({ workflowName: "workflow//src/a.ts//a", input: "[]" });
    const token = createReadToken(run.runId, { secret: SECRET });
    const pending = until<string>(
      run.runId,
      { baseUrl: base, token, persist: false },
      (s) => s.status === "completed" && s.outputClosed,
    );
    await append(run.runId, [{ type: "run_started" }]);
    await append(run.runId, [
      {
        type: "step_created",
        correlationId: "step_0001",
        data: { stepName: "step//src/a.ts//s", input: "[]" },
      },
      { type: "step_started", correlationId: "step_0001", data: { attempt: 1 } },
    ]);
    await world.writeStream!(run.runId, "default", ['["hello"]'], { close: true });
    await append(run.runId, [
      { type: "step_completed", correlationId: "step_0001", data: { output: "[1]" } },
    ]);
    await append(run.runId, [{ type: "run_completed", data: { output: '["done"]' } }]);
    const { snapshot, stop } = await pending;
    stop();
    expect(snapshot.steps.map((s) => [s.stepId, s.name, s.status])).toEqual([
      ["step_0001", "s", "completed"],
    ]);
    expect(snapshot.output).toEqual(["hello"]);
    expect(snapshot.returnValue).toBeDefined();
  });

  it("continues from the stored offsets after a 'reload', and stops on a refused token", async () => {
    const { run } = await world.createRun({ workflowName: "workflow//src/a.ts//b", input: "[]" });
    const token = createReadToken(run.runId, { secret: SECRET });
    const storage = memoryStorage();
    (globalThis as { sessionStorage?: unknown }).sessionStorage = storage;
    try {
      await append(run.runId, [{ type: "run_started" }]);
      const first = await until(run.runId, { baseUrl: base, token }, (s) => s.status === "running");
      first.stop();
      expect(storage.items.size).toBe(1);
      const requested: string[] = [];
      const recording: typeof fetch = (input, init) => {
        requested.push(String(input instanceof Request ? input.url : input));
        return fetch(input, init);
      };
      await append(run.runId, [{ type: "run_cancelled", data: { reason: "test" } }]);
      const second = await until(
        run.runId,
        { baseUrl: base, token, fetch: recording },
        (s) => s.status === "cancelled",
      );
      second.stop();
      const stateUrl = new URL(requested.find((u) => u.includes("/state"))!);
      expect(stateUrl.searchParams.get("offset")).toBe("0000000000000000_0000000000000002");

      const refused = await until(
        run.runId,
        { baseUrl: base, token: createReadToken("wrun_other", { secret: SECRET }), persist: false },
        (s) => s.connectionError !== undefined,
      );
      refused.stop();
      expect(refused.snapshot.status).toBe("loading");
    } finally {
      delete (globalThis as { sessionStorage?: unknown }).sessionStorage;
    }
  });
});

describe("subscribeRuns", () => {
  it("lists runs newest first and follows their status", async () => {
    const token = createReadToken("*", { secret: SECRET });
    const { run } = await world.createRun({ workflowName: "workflow//src/a.ts//listed", input: "[]" });
    const seen = new Promise<RunListItem[]>((resolve) => {
      const sub = subscribeRuns({ baseUrl: base, token }, (runs) => {
        if (runs.find((r) => r.runId === run.runId)?.status === "running") {
          sub.unsubscribe();
          resolve(runs);
        }
      });
    });
    await new Promise((r) => setTimeout(r, 50));
    await append(run.runId, [{ type: "run_started" }]);
    const runs = await seen;
    expect(runs.find((r) => r.runId === run.runId)).toMatchObject({ name: "listed", status: "running" });
    const created = runs.map((r) => r.createdAt);
    expect(created).toEqual([...created].sort((a, b) => b - a));
  });
});
