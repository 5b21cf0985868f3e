import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createMemoryWorld } from "@wfkit/world";
import { describe, expect, it } from "vitest";
import { Run } from "../api/run.js";
import { configureRuntime, engineForWorld } from "../api/runtime-config.js";
import { bundle, registerStep } from "../engine/__tests__/harness.js";
import { serialize } from "../serialization/index.js";
import { createEmbeddedCodeProvider } from "./built-code.js";
import { createHandlers, webhookToken } from "./handlers.js";
import { toNodeHandler } from "./node-adapter.js";
import { createRouter } from "./router.js";

const WF = "workflow//./src/h//double";
const HOOK_WF = "workflow//./src/h//hooked";
registerStep("step//./src/h//twice", async (n: number) => n * 2);
registerStep("step//./src/h//read", async (request: Request) => `${request.method} ${await request.text()}`);
configureRuntime({
  codeProvider: createEmbeddedCodeProvider({
    code: bundle({
      [WF]: `async (n) => step("step//./src/h//twice")(n)`,
      [HOOK_WF]: `async () => step("step//./src/h//read")(await rt().createWebhook())`,
    }),
    filename: "handlers-test.js",
  }),
});

const post = (path: string, body: unknown) =>
  new Request(`http://app.test/.well-known/workflow/v1/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

/** A run stored but driven by nobody, as when another process created it. */
async function storedRun(world: ReturnType<typeof createMemoryWorld>, n: number): Promise<string> {
  const runId = `wrun_test_${Math.random().toString(36).slice(2)}`;
  await world.createRun({ runId, workflowName: WF, input: serialize([n], { path: "args" }) });
  return runId;
}

describe("createHandlers", () => {
  it("flow drives a stored run to completion", async () => {
    const world = createMemoryWorld();
    const runId = await storedRun(world, 21);
    const response = await createHandlers({ world }).flow(post("flow", { runId }));
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ runId, driving: true });
    expect(await new Run(runId, engineForWorld(world)).returnValue).toBe(42);
  });

  it("step drives the run as well (inline steps)", async () => {
    const world = createMemoryWorld();
    const runId = await storedRun(world, 5);
    const response = await createHandlers({ world }).step(post("step", { runId, stepId: "step_0001" }));
    expect(response.status).toBe(202);
    expect(await new Run(runId, engineForWorld(world)).returnValue).toBe(10);
  });

  it("rejects a missing runId, an unknown run and a GET, saying what to send", async () => {
    const { flow } = createHandlers({ world: createMemoryWorld() });
    const bad = await flow(post("flow", { id: 1 }));
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toMatch(/"runId"/);
    expect((await flow(post("flow", { runId: "wrun_nope" }))).status).toBe(404);
    const get = await flow(new Request("http://app.test/.well-known/workflow/v1/flow"));
    expect(get.status).toBe(405);
  });

  it("webhook answers 404 with an empty body for an unknown token, and delegates to resumeWebhook", async () => {
    const req = () =>
      new Request("http://app.test/.well-known/workflow/v1/webhook/tok%2F1", { method: "POST" });
    const none = await createHandlers({ world: createMemoryWorld() }).webhook(req());
    expect(none.status).toBe(404);
    expect(await none.text()).toBe("");
    const seen: string[] = [];
    const withHooks = createHandlers({
      world: createMemoryWorld(),
      resumeWebhook: async (token) => {
        seen.push(token);
        return new Response("ok", { status: 202 });
      },
    });
    expect((await withHooks.webhook(req())).status).toBe(202);
    expect(seen).toEqual(["tok/1"]);
  });

  it("webhook delivers a request to a run waiting on createWebhook()", async () => {
    const world = createMemoryWorld();
    const runId = `wrun_test_${Math.random().toString(36).slice(2)}`;
    await world.createRun({ runId, workflowName: HOOK_WF, input: serialize([], { path: "args" }) });
    const handlers = createHandlers({ world });
    expect((await handlers.flow(post("flow", { runId }))).status).toBe(202);
    let token: string | undefined;
    for (let i = 0; i < 200 && !token; i++) {
      token = (await world.listHooks(runId))[0]?.token;
      if (!token) await new Promise((r) => setTimeout(r, 5));
    }
    const response = await handlers.webhook(
      new Request(`http://app.test/.well-known/workflow/v1/webhook/${encodeURIComponent(token!)}`, {
        method: "POST",
        body: "ping",
      }),
    );
    expect(response.status).toBe(202);
    expect(await new Run(runId, engineForWorld(world)).returnValue).toBe("POST ping");
  });

  it("webhookToken reads the last path segment only", () => {
    expect(webhookToken("/.well-known/workflow/v1/webhook/abc")).toBe("abc");
    expect(webhookToken("/.well-known/workflow/v1/webhook/")).toBeUndefined();
    expect(webhookToken("/.well-known/workflow/v1/webhook/a/b")).toBeUndefined();
    expect(webhookToken("/other")).toBeUndefined();
  });
});

describe("createRouter + toNodeHandler", () => {
  it("serves the endpoints from a Node http server and falls through for other paths", async () => {
    const world = createMemoryWorld();
    const router = createRouter(createHandlers({ world }));
    const server = createServer(
      toNodeHandler(async (request) => (await router(request)) ?? new Response("app page", { status: 200 })),
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const runId = await storedRun(world, 4);
      const flow = await fetch(`${base}/.well-known/workflow/v1/flow`, {
        method: "POST",
        body: JSON.stringify({ runId }),
      });
      expect(flow.status).toBe(202);
      expect(await new Run(runId, engineForWorld(world)).returnValue).toBe(8);
      expect(await (await fetch(`${base}/`)).text()).toBe("app page");
      expect((await fetch(`${base}/.well-known/workflow/v1/nothing`)).status).toBe(404);
    } finally {
      server.close();
    }
  });

  it("calls next() when the router declines, as middleware", async () => {
    const handler = toNodeHandler(createRouter(createHandlers({ world: createMemoryWorld() })));
    const server = createServer((req, res) =>
      handler(req, res, () => {
        res.statusCode = 299;
        res.end("next");
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/elsewhere`);
      expect(res.status).toBe(299);
      expect(await res.text()).toBe("next");
    } finally {
      server.close();
    }
  });
});
