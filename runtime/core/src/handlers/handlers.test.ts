import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { createMemoryWorld } from "@wfkit/world";
import { describe, expect, it } from "vitest";
import { Run } from "../api/run.js";
import { configureRuntime, engineForWorld } from "../api/runtime-config.js";
import { bundle, registerStep } from "../engine/__tests__/harness.js";
import { HookNotFoundError } from "../sandbox/hook-errors.js";
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
    // A delegate that rejects as resumeWebhook does for an unknown token is answered 404 too.
    const refusing = createHandlers({
      world: createMemoryWorld(),
      resumeWebhook: async (token) => {
        throw new HookNotFoundError(token);
      },
    });
    const refused = await refusing.webhook(req());
    expect(refused.status).toBe(404);
    expect(await refused.text()).toBe("");
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

describe("body limits", () => {
  /** Sends `total` bytes in 64 KiB chunks (chunked, no Content-Length unless `declare`); resolves with the status. */
  function upload(base: string, path: string, total: number, declare = false): Promise<number> {
    return new Promise((resolve, reject) => {
      const url = new URL(path, base);
      const req = request(
        url,
        { method: "POST", headers: declare ? { "content-length": String(total) } : {} },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      const chunk = Buffer.alloc(64 * 1024, 120);
      let sent = 0;
      const pump = () => {
        while (sent < total) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once("drain", pump);
        }
        req.end();
      };
      pump();
    });
  }

  it("answers 413 past the limit, declared or streamed, without buffering the upload; smaller bodies pass", async () => {
    const world = createMemoryWorld();
    const server = createServer(
      toNodeHandler(createRouter(createHandlers({ world, maxBodyBytes: 256 * 1024 }))),
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const runId = `wrun_test_${Math.random().toString(36).slice(2)}`;
    await world.createRun({ runId, workflowName: HOOK_WF, input: serialize([], { path: "args" }) });
    await engineForWorld(world).drive(runId);
    let token: string | undefined;
    for (let i = 0; i < 200 && !token; i++) {
      token = (await world.listHooks(runId))[0]?.token;
      if (!token) await new Promise((r) => setTimeout(r, 5));
    }
    const hookPath = `/.well-known/workflow/v1/webhook/${encodeURIComponent(token!)}`;
    try {
      const rss = process.memoryUsage().rss;
      expect(await upload(base, "/.well-known/workflow/v1/flow", 64 * 1024 * 1024)).toBe(413);
      expect(await upload(base, "/.well-known/workflow/v1/flow", 64 * 1024 * 1024, true)).toBe(413);
      expect(await upload(base, hookPath, 64 * 1024 * 1024)).toBe(413);
      expect(await upload(base, hookPath, 1024 * 1024, true)).toBe(413);
      // 64 MiB were offered three times; far less than that was held.
      expect(process.memoryUsage().rss - rss).toBeLessThan(48 * 1024 * 1024);
      const small = await fetch(`${base}/.well-known/workflow/v1/webhook/nobody`, {
        method: "POST",
        body: "x",
      });
      expect(small.status).toBe(404);
      const tooLarge = await fetch(`${base}/.well-known/workflow/v1/flow`, {
        method: "POST",
        body: "x".repeat(70 * 1024),
      });
      expect(tooLarge.status).toBe(413);
      expect(await tooLarge.text()).toMatch(/larger than 65536 bytes.*WORKFLOW_MAX_BODY_BYTES/);
      // Nothing reached the run; a body under the limit does.
      expect(await world.listDeliveries(runId)).toEqual([]);
      const fits = await fetch(`${base}${hookPath}`, { method: "POST", body: "y".repeat(200 * 1024) });
      expect(fits.status).toBe(202);
      expect(await new Run(runId, engineForWorld(world)).returnValue).toBe(`POST ${"y".repeat(200 * 1024)}`);
    } finally {
      server.close();
    }
  });

  it("a token or run ID with a NUL character is simply not found", async () => {
    const { flow, webhook } = createHandlers({ world: createMemoryWorld() });
    expect((await flow(post("flow", { runId: "wrun_\u0000x" }))).status).toBe(400);
    const res = await webhook(
      new Request("http://app.test/.well-known/workflow/v1/webhook/a%00b", { method: "POST", body: "x" }),
    );
    expect(res.status).toBe(404);
  });
});
