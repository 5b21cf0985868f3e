import { afterEach, describe, expect, it } from "vitest";
import { resumeHook, resumeWebhook } from "../api/hooks.js";
import { HookNotFoundError } from "../sandbox/hook-errors.js";
import { harness, registerStep } from "./__tests__/harness.js";
import type { Engine } from "./engine.js";

const engines: Engine[] = [];
function track<T extends { engine: Engine }>(h: T): T {
  engines.push(h.engine);
  return h;
}
afterEach(() => {
  for (const e of engines.splice(0)) e.close();
});

async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function tokenOf(h: { world: import("@wfkit/world").World }, runId: string): Promise<string> {
  let token: string | undefined;
  await waitFor(async () => {
    token = (await h.world.listHooks(runId))[0]?.token;
    return token !== undefined;
  });
  return token!;
}

registerStep("step//./w//describe", async (request: Request) => ({
  method: request.method,
  url: request.url,
  type: request.headers.get("content-type"),
  custom: request.headers.get("x-custom"),
  bytes: [...new Uint8Array(await request.arrayBuffer())],
}));

registerStep("step//./w//answer", async (request: Request) => {
  const text = await request.text();
  await (request as Request & { respondWith(r: Response): Promise<void> }).respondWith(
    new Response(`echo:${text}`, { status: 201, headers: { "x-answer": "yes" } }),
  );
});

registerStep("step//./w//static", async () => new Response("static ok", { status: 200 }));

const post = (url: string, body: BodyInit, headers: Record<string, string> = {}) =>
  new Request(url, { method: "POST", body, headers });

describe("createWebhook", () => {
  it("answers 202, and delivers method, URL, headers and binary body intact", async () => {
    process.env.WORKFLOW_BASE_URL = "https://app.example.com/";
    const h = track(
      harness({
        "workflow//./w//plain": `async function plain() {
          const webhook = rt().createWebhook();
          const request = await webhook;
          const seen = await step("step//./w//describe")(request);
          return { url: webhook.url, seen };
        }`,
      }),
    );
    const run = await h.start<{ url: string; seen: Record<string, unknown> }>("workflow//./w//plain");
    const token = await tokenOf(h, run.runId);
    const url = `https://app.example.com/.well-known/workflow/v1/webhook/${token}?x=1`;
    const response = await resumeWebhook(
      token,
      post(url, new Uint8Array([0, 1, 2, 255]), {
        "content-type": "application/octet-stream",
        "x-custom": "c",
      }),
      { engine: h.engine },
    );
    expect(response.status).toBe(202);
    const result = await run.returnValue;
    delete process.env.WORKFLOW_BASE_URL;
    expect(result.url).toBe(`https://app.example.com/.well-known/workflow/v1/webhook/${token}`);
    expect(result.seen).toEqual({
      method: "POST",
      url,
      type: "application/octet-stream",
      custom: "c",
      bytes: [0, 1, 2, 255],
    });
  });

  it('with respondWith "manual", gives the caller exactly the response a step sends', async () => {
    const h = track(
      harness({
        "workflow//./w//manual": `async function manual() {
          const webhook = rt().createWebhook({ respondWith: "manual" });
          const request = await webhook;
          let refused;
          try { request.respondWith(null); } catch (e) { refused = e.message; }
          await step("step//./w//answer")(request);
          return refused;
        }`,
      }),
    );
    const run = await h.start<string>("workflow//./w//manual");
    const token = await tokenOf(h, run.runId);
    const response = await resumeWebhook(token, post("http://x/hook", "hello"), { engine: h.engine });
    expect(response.status).toBe(201);
    expect(response.headers.get("x-answer")).toBe("yes");
    expect(await response.text()).toBe("echo:hello");
    await expect(run.returnValue).resolves.toMatch(/pass the request to a "use step" function/);
  });

  it('answers 504 with an explanation when a "manual" webhook gets no answer in time', async () => {
    const h = track(
      harness({
        "workflow//./w//silent": `async function silent() {
          const webhook = rt().createWebhook({ respondWith: "manual" });
          await webhook;
          return "ignored it";
        }`,
      }),
    );
    const run = await h.start("workflow//./w//silent");
    const token = await tokenOf(h, run.runId);
    const response = await resumeWebhook(token, post("http://x/hook", "hi"), {
      engine: h.engine,
      timeoutMs: 100,
    });
    expect(response.status).toBe(504);
    expect(await response.text()).toMatch(/did not answer this webhook request within 100 ms/);
  });

  it("sends a static respondWith Response built in workflow code, as WDK's docs write it", async () => {
    const h = track(
      harness({
        "workflow//./w//built": `async function built() {
          const webhook = rt().createWebhook({
            respondWith: new Response("Thank you!", { status: 201, headers: new Headers({ "x-from": "workflow" }) }),
          });
          const request = await webhook;
          return [request.method, request instanceof Request];
        }`,
      }),
    );
    const run = await h.start<[string, boolean]>("workflow//./w//built");
    const token = await tokenOf(h, run.runId);
    const response = await resumeWebhook(token, post("http://x/h", "hi"), { engine: h.engine });
    expect(response.status).toBe(201);
    expect(response.headers.get("x-from")).toBe("workflow");
    expect(await response.text()).toBe("Thank you!");
    await expect(run.returnValue).resolves.toEqual(["POST", true]);
  });

  it("sends a static respondWith response to every caller", async () => {
    const h = track(
      harness({
        "workflow//./w//fixed": `async function fixed() {
          const res = await step("step//./w//static")();
          const webhook = rt().createWebhook({ respondWith: res });
          const got = [];
          for await (const request of webhook) { got.push(request.method); if (got.length === 2) webhook.dispose(); }
          return got;
        }`,
      }),
    );
    const run = await h.start<string[]>("workflow//./w//fixed");
    const token = await tokenOf(h, run.runId);
    for (const method of ["PUT", "DELETE"]) {
      const response = await resumeWebhook(token, new Request("http://x/h", { method }), {
        engine: h.engine,
      });
      expect(response.status).toBe(200);
      expect(await response.text()).toBe("static ok");
    }
    await expect(run.returnValue).resolves.toEqual(["PUT", "DELETE"]);
  });

  it("rejects with HookNotFoundError for unknown tokens and plain hooks; a webhook is not a plain hook", async () => {
    const h = track(
      harness({
        "workflow//./w//both": `async function both() {
          const hook = rt().createHook({ token: "plain-hook" });
          const webhook = rt().createWebhook({ token: "web-hook" });
          return [await hook, (await webhook).method];
        }`,
      }),
    );
    const unknown = await resumeWebhook("nope", post("http://x/h", "a"), { engine: h.engine }).catch(
      (e) => e,
    );
    expect(HookNotFoundError.is(unknown)).toBe(true);
    expect(unknown.token).toBe("nope");
    const run = await h.start("workflow//./w//both");
    await waitFor(async () => (await h.world.listHooks(run.runId)).length === 2);
    const plain = await resumeWebhook("plain-hook", post("http://x/h", "a"), { engine: h.engine }).catch(
      (e) => e,
    );
    expect(HookNotFoundError.is(plain)).toBe(true);
    await resumeHook("plain-hook", "through the API", h.engine);
    expect((await resumeWebhook("web-hook", post("http://x/h", "b"), { engine: h.engine })).status).toBe(202);
    await expect(run.returnValue).resolves.toEqual(["through the API", "POST"]);
  });

  it('refuses a respondWith that is neither a Response nor "manual"', async () => {
    const h = track(
      harness({
        "workflow//./w//bad": `async function bad() { try { rt().createWebhook({ respondWith: 5 }); } catch (e) { return e.message; } }`,
      }),
    );
    const run = await h.start<string>("workflow//./w//bad");
    await expect(run.returnValue).resolves.toMatch(
      /^Invalid `respondWith` value: 5\. .*respondWith must be a Response/,
    );
  });
});
