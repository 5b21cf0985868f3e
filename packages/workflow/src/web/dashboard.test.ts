/**
 * The dashboard's JSON API, live feed and access rules against the local world: "the app" (an executing engine on
 * its own world instance) runs the workflows; the dashboard opens a second world instance with an engine that
 * executes nothing, as `wf web` does, so every action is carried out by the app.
 */
import { Engine, type World, worldFromEnv } from "@wfkit/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, type OperatorApp, registerStep, startApp } from "../cli/__tests__/operator-app.js";
import { createDashboard, type DashboardOptions } from "./dashboard.js";

let broken = true;
registerStep("step//./dash//double", async (n: number) => n * 2);
registerStep(
  "step//./dash//charge",
  async (n: number) => {
    if (broken) throw Object.assign(new Error("card service down"), { code: "DOWN" });
    return `charged ${n}`;
  },
  { maxRetries: 1 },
);

const WORKFLOWS = {
  // step_0001, wait_0002, hook_0003, step_0004
  "workflow//./dash//order": `async function order(n, token) {
    const doubled = await step("step//./dash//double")(n);
    await rt().sleep(10);
    const approval = await rt().createHook({ token });
    return { doubled, approval, charge: await step("step//./dash//charge")(doubled) };
  }`,
  "workflow//./dash//nap": `async function nap() {
    await rt().sleep(3600000);
    return "rested";
  }`,
};

describe("createDashboard", () => {
  let app: OperatorApp;
  let world: World;
  let engine: Engine;
  const base = "http://127.0.0.1:9/admin/wf";
  const dashboard = (opts: Partial<DashboardOptions> = {}) =>
    createDashboard({ world, engine, basePath: "/admin/wf", ...opts });
  const call = async (
    path: string,
    init: RequestInit & { json?: unknown } = {},
    opts?: Partial<DashboardOptions>,
  ) => {
    const { json, ...rest } = init;
    const request = new Request(`${base}/${path}`, {
      ...rest,
      ...(json === undefined
        ? {}
        : { method: "POST", body: JSON.stringify(json), headers: { "content-type": "application/json" } }),
    });
    const response = await dashboard(opts)(request);
    const text = await response.text();
    return { status: response.status, body: text.startsWith("{") ? JSON.parse(text) : text, response };
  };
  const status = async (runId: string) => (await app.world.getRun(runId))?.status;

  beforeAll(async () => {
    app = await startApp("local", WORKFLOWS);
    const dataDir = app.flags[app.flags.indexOf("--data-dir") + 1] as string;
    world = await worldFromEnv({ WORKFLOW_TARGET_WORLD: "local", WORKFLOW_LOCAL_DATA_DIR: dataDir });
    engine = new Engine({ world, executeRuns: false, sweepIntervalMs: false, onError: () => {} });
  });
  afterAll(async () => {
    engine?.close();
    await world?.close();
    await app?.close();
  });

  it("serves the page under its base path with its compiled assets, and nothing outside it", async () => {
    const page = await call("");
    expect(page.status).toBe(200);
    expect(page.response.headers.get("content-type")).toContain("text/html");
    expect(page.body).toContain('data-base="/admin/wf"');
    expect(page.body).toContain('src="/admin/wf/assets/app.js"');
    const js = await call("assets/app.js");
    expect(js.status).toBe(200);
    expect(js.response.headers.get("content-type")).toContain("javascript");
    expect(String(js.body).length).toBeGreaterThan(1000);
    expect((await call("assets/app.css")).status).toBe(200);
    const outside = await dashboard()(new Request("http://127.0.0.1:9/other"));
    expect(outside.status).toBe(404);
    expect((await call("assets/../../package.json")).status).toBe(404);
    expect(() => createDashboard({ basePath: "admin" })).toThrow(/must start with "\/"/);
  });

  it("starts a run, resumes its hook from a JSON payload, shows it failed with a decoded error, retries it", async () => {
    broken = true;
    const started = await call("api/runs", {
      json: { workflowName: "workflow//./dash//order", args: [21, "tok-1"] },
    });
    expect(started.status).toBe(201);
    const runId: string = started.body.runId;
    await eventually(
      () => app.world.getHookByToken("tok-1"),
      (h) => h !== undefined,
    );
    const waiting = await call(`api/runs/${runId}`);
    expect(waiting.body.hooks).toEqual([expect.objectContaining({ token: "tok-1", status: "active" })]);

    const badPayload = await call("api/hooks/resume", { json: { token: "tok-1" } });
    expect(badPayload.status).toBe(400);
    expect(badPayload.body.error).toMatch(/payload is missing/);
    const unknownHook = await call("api/hooks/resume", { json: { token: "nope", payload: 1 } });
    expect(unknownHook.status).toBe(404);
    const resumed = await call("api/hooks/resume", { json: { token: "tok-1", payload: { ok: true } } });
    expect(resumed.status).toBe(200);
    expect(resumed.body.runId).toBe(runId);
    await eventually(
      () => status(runId),
      (s) => s === "failed",
    );

    const failed = await call(`api/runs/${runId}`);
    expect(failed.body.run).toMatchObject({
      runId,
      status: "failed",
      input: [21, "tok-1"],
      error: { $type: "Error", message: "card service down", code: "DOWN" },
    });
    const items = failed.body.timeline.items as {
      id: string;
      kind: string;
      status: string;
      attempts?: unknown[];
    }[];
    expect(items.map((i) => [i.id, i.kind, i.status])).toEqual([
      ["step_0001", "step", "completed"],
      ["wait_0002", "sleep", "completed"],
      ["hook_0003", "hook", "received"],
      ["step_0004", "step", "failed"],
    ]);
    // One retry: the first attempt's outcome is "retrying" with its back-off, the second failed.
    expect(items[3]?.attempts).toEqual([
      expect.objectContaining({ attempt: 1, outcome: "retrying", retryAt: expect.any(Number) }),
      expect.objectContaining({ attempt: 2, outcome: "failed" }),
    ]);
    const step = await call(`api/runs/${runId}/steps/step_0001`);
    expect(step.body).toMatchObject({ stepId: "step_0001", output: 42, input: { args: [21] } });

    const notFailed = await call(`api/runs/${runId}/pause`, { json: {} });
    expect(notFailed.status).toBe(409);
    broken = false;
    const retried = await call(`api/runs/${runId}/retry`, { json: { reason: "fixed" } });
    expect(retried.status).toBe(200);
    await eventually(
      () => status(runId),
      (s) => s === "completed",
    );
    const done = await call(`api/runs/${runId}`);
    expect(done.body.run.output).toEqual({ doubled: 42, approval: { ok: true }, charge: "charged 42" });
    expect((await call(`api/runs/${runId}/retry`, { json: {} })).status).toBe(409);

    // Fork from the charge step: a new run that reuses the earlier results.
    const fork = await call(`api/runs/${runId}/fork`, { json: { fromStep: "step_0004" } });
    expect(fork.status).toBe(201);
    expect(fork.body.forkedFrom).toBe(runId);
    await eventually(
      () => status(fork.body.runId),
      (s) => s === "completed",
    );
    const forked = await call(`api/runs/${fork.body.runId}`);
    expect(forked.body.run.metadata.forkedFrom).toMatchObject({ runId, fromStep: "step_0004" });
    const badStep = await call(`api/runs/${runId}/fork`, { json: { fromStep: "step_9999" } });
    expect(badStep.status).toBe(400);
    expect(badStep.body.error).toContain("step_9999");

    // The event log, a page at a time.
    const first = await call(`api/runs/${runId}/events?limit=3`);
    expect(first.body.data.map((e: { seq: number }) => e.seq)).toEqual([1, 2, 3]);
    expect(first.body.data[0]).toMatchObject({ type: "run_created", data: { input: [21, "tok-1"] } });
    expect(first.body.hasMore).toBe(true);
    const last = await call(`api/runs/${runId}/events?after=${done.body.run.lastSeq - 1}&limit=3`);
    expect(last.body.data.map((e: { type: string }) => e.type)).toEqual(["run_completed"]);
    expect(last.body.hasMore).toBe(false);
    expect((await call(`api/runs/${runId}/events?limit=0`)).status).toBe(400);
    expect((await call("api/runs/no-such-run")).status).toBe(404);
  });

  it("cancels a sleeping run; lists, filters, searches and pages runs; counts per workflow", async () => {
    const naps: string[] = [];
    for (let i = 0; i < 3; i++) {
      naps.push((await call("api/runs", { json: { workflowName: "workflow//./dash//nap" } })).body.runId);
    }
    await eventually(
      async () => (await app.world.listWaits(naps[0] as string)).length,
      (n) => n === 1,
    );
    const cancelled = await call(`api/runs/${naps[0]}/cancel`, { json: { reason: "enough" } });
    expect(cancelled.body).toEqual({ runId: naps[0], status: "cancelled" });
    expect((await call("api/runs/nope/cancel", { json: {} })).status).toBe(404);

    const byWorkflow = await call("api/runs?workflow=workflow//./dash//nap&limit=2");
    expect(byWorkflow.body.data).toHaveLength(2);
    expect(byWorkflow.body.hasMore).toBe(true);
    const next = await call(
      `api/runs?workflow=workflow//./dash//nap&limit=2&cursor=${encodeURIComponent(byWorkflow.body.cursor)}`,
    );
    expect(
      [...byWorkflow.body.data, ...next.body.data].map((r: { runId: string }) => r.runId).sort(),
    ).toEqual([...naps].sort());
    const cancelledOnly = await call("api/runs?status=cancelled");
    expect(cancelledOnly.body.data.map((r: { runId: string }) => r.runId)).toEqual([naps[0]]);
    expect((await call(`api/runs?q=${naps[1]}`)).body.data.map((r: { runId: string }) => r.runId)).toEqual([
      naps[1],
    ]);
    const part = (naps[2] as string).slice(-8);
    expect((await call(`api/runs?q=${part}`)).body.data.map((r: { runId: string }) => r.runId)).toContain(
      naps[2],
    );
    const badStatus = await call("api/runs?status=sleeping");
    expect(badStatus.status).toBe(400);
    expect(badStatus.body.error).toMatch(/"sleeping" is not a run status/);

    const stats = await call("api/workflows");
    const nap = stats.body.data.find(
      (w: { workflowName: string }) => w.workflowName === "workflow//./dash//nap",
    );
    expect(nap).toMatchObject({ total: 3, counts: { cancelled: 1 }, failureRate: 0 });
    const order = stats.body.data.find(
      (w: { workflowName: string }) => w.workflowName === "workflow//./dash//order",
    );
    expect(order.total).toBe(2);
    expect(order.counts.completed).toBe(2);
    for (const id of naps.slice(1)) await call(`api/runs/${id}/cancel`, { json: {} });
  });

  it("streams the world's notifications as server-sent events", async () => {
    const controller = new AbortController();
    const response = await dashboard()(new Request(`${base}/api/live`, { signal: controller.signal }));
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    const reader = (response.body as ReadableStream<Uint8Array>)
      .pipeThrough(new TextDecoderStream())
      .getReader();
    let text = "";
    const started = await call("api/runs", { json: { workflowName: "workflow//./dash//nap" } });
    const runId: string = started.body.runId;
    while (!text.includes(`"runId":"${runId}"`)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    expect(text).toContain("event: ready");
    expect(text).toMatch(
      new RegExp(`event: run\\ndata: \\{"runId":"${runId}","status":"\\w+","kind":"\\w+"`),
    );
    controller.abort();
    await reader.cancel().catch(() => {});
    await call(`api/runs/${runId}/cancel`, { json: {} });
  });

  it("refuses actions when read-only, unauthenticated, cross-origin or not JSON", async () => {
    const readOnly = await call(
      "api/runs",
      { json: { workflowName: "workflow//./dash//nap" } },
      { readOnly: true },
    );
    expect(readOnly.status).toBe(403);
    expect(readOnly.body.error).toMatch(/read-only/);
    expect((await call("api/config", {}, { readOnly: true })).body).toMatchObject({
      readOnly: true,
      world: "local",
    });
    expect((await call("api/runs", {}, { readOnly: true })).status).toBe(200);

    const auth: DashboardOptions["auth"] = (request) => {
      const who = request.headers.get("authorization");
      if (who === "Bearer admin") return true;
      if (who === "Bearer viewer") return "read-only";
      if (who === "Bearer banned") return new Response("banned", { status: 403 });
      return false;
    };
    const as = (who: string | undefined, path: string, json?: unknown) =>
      dashboard({ auth })(
        new Request(`${base}/${path}`, {
          ...(json === undefined ? {} : { method: "POST", body: JSON.stringify(json) }),
          headers: { "content-type": "application/json", ...(who ? { authorization: `Bearer ${who}` } : {}) },
        }),
      );
    expect((await as(undefined, "api/runs")).status).toBe(401);
    expect((await as(undefined, "")).status).toBe(401);
    expect((await as("banned", "api/runs")).status).toBe(403);
    expect((await as("viewer", "api/runs")).status).toBe(200);
    expect((await as("viewer", "api/config").then((r) => r.json())).readOnly).toBe(true);
    expect((await as("viewer", "api/runs/x/cancel", {})).status).toBe(403);
    expect((await as("admin", "api/runs/x/cancel", {})).status).toBe(404);

    const form = await dashboard()(
      new Request(`${base}/api/runs/x/cancel`, {
        method: "POST",
        body: "reason=x",
        headers: { "content-type": "application/x-www-form-urlencoded" },
      }),
    );
    expect(form.status).toBe(415);
    const crossSite = await dashboard()(
      new Request(`${base}/api/runs/x/cancel`, {
        method: "POST",
        body: "{}",
        headers: { "content-type": "application/json", origin: "https://evil.example" },
      }),
    );
    expect(crossSite.status).toBe(403);
    const notJson = await call("api/runs/x/cancel", {
      method: "POST",
      body: "{",
      headers: { "content-type": "application/json" },
    });
    expect(notJson.status).toBe(400);
    expect(notJson.body.error).toMatch(/not JSON/);
  });
});
