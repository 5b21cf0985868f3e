import { createMemoryWorld, type World } from "@wfkit/world";
import { describe, expect, it } from "vitest";
import { serialize } from "../../serialization/index.js";
import { createStreamsHandler } from "./handler.js";
import { createReadToken, MissingStreamsSecretError, readTokenScope } from "./read-token.js";
import { RunStateDeriver } from "./run-state.js";

const SECRET = "test-secret-0123456789-0123456789";
const BASE = "http://app.test/.well-known/workflow/v1/streams";

async function newRun(world: World, runId: string) {
  await world.createRun({
    runId,
    workflowName: "workflow//src/a.ts//order",
    input: serialize([1], { path: "a" }),
  });
  return runId;
}

async function append(world: World, runId: string, events: Parameters<World["append"]>[2]) {
  const run = await world.getRun(runId);
  return world.append(runId, run!.lastSeq, events);
}

const stepEvents = (id: string, value: unknown) =>
  [
    {
      type: "step_created",
      correlationId: id,
      data: { stepName: "step//src/a.ts//charge", input: serialize([], { path: "i" }) },
    },
    { type: "step_started", correlationId: id, data: { attempt: 1 } },
    { type: "step_completed", correlationId: id, data: { output: serialize(value, { path: "o" }) } },
  ] as Parameters<World["append"]>[2];

function get(
  handler: ReturnType<typeof createStreamsHandler>,
  path: string,
  token?: string,
  init?: RequestInit,
) {
  const url = new URL(`${BASE}/${path}`);
  if (token) url.searchParams.set("token", token);
  return handler(new Request(url, init));
}

describe("read tokens", () => {
  it("scope one run, refuse tampering and expire", async () => {
    const token = createReadToken("wrun_a", { secret: SECRET });
    expect(readTokenScope(token, SECRET)).toBe("wrun_a");
    expect(readTokenScope(token, "another-secret")).toBeUndefined();
    const [body, mac] = token.split(".");
    const forged = `${Buffer.from(JSON.stringify({ r: "*" })).toString("base64url")}.${mac}`;
    expect(readTokenScope(forged, SECRET)).toBeUndefined();
    expect(readTokenScope(`${body}.`, SECRET)).toBeUndefined();
    const expired = createReadToken("wrun_a", { secret: SECRET, expiresInSeconds: 0.001 });
    await new Promise((r) => setTimeout(r, 5));
    expect(readTokenScope(expired, SECRET)).toBeUndefined();
  });

  it("name the missing secret and how to set it", () => {
    const saved = process.env.WORKFLOW_STREAMS_SECRET;
    delete process.env.WORKFLOW_STREAMS_SECRET;
    try {
      expect(() => createReadToken("wrun_a")).toThrow(MissingStreamsSecretError);
      expect(() => createReadToken("wrun_a")).toThrow(/WORKFLOW_STREAMS_SECRET.*openssl rand/s);
    } finally {
      if (saved !== undefined) process.env.WORKFLOW_STREAMS_SECRET = saved;
    }
  });
});

describe("streams handler", () => {
  it("refuses requests without a token, with a bad one, for another run, and unknown runs", async () => {
    const world = createMemoryWorld();
    const handler = createStreamsHandler({ world, secret: SECRET });
    const a = await newRun(world, "wrun_a");
    await newRun(world, "wrun_b");
    expect((await get(handler, `runs/${a}/state`)).status).toBe(401);
    expect((await get(handler, `runs/${a}/state`, "nope.nope")).status).toBe(401);
    expect(
      (await get(handler, `runs/${a}/state`, createReadToken("wrun_b", { secret: SECRET }))).status,
    ).toBe(403);
    expect((await get(handler, "runs", createReadToken("wrun_a", { secret: SECRET }))).status).toBe(403);
    expect((await get(handler, "runs/wrun_zzz/state", createReadToken("*", { secret: SECRET }))).status).toBe(
      404,
    );
    expect((await get(handler, `runs/${a}/state`, createReadToken(a, { secret: SECRET }))).status).toBe(200);
    expect((await get(handler, `runs/${a}/nothing`, createReadToken(a, { secret: SECRET }))).status).toBe(
      404,
    );
    const post = await get(handler, `runs/${a}/state`, createReadToken(a, { secret: SECRET }), {
      method: "POST",
    });
    expect(post.status).toBe(405);
  });

  it("serves a run's state as change events in log order, the same from any offset and any deriver", async () => {
    const world = createMemoryWorld();
    const handler = createStreamsHandler({ world, secret: SECRET });
    const runId = await newRun(world, "wrun_state");
    const token = createReadToken(runId, { secret: SECRET });
    await append(world, runId, [{ type: "run_started" }]);
    await append(world, runId, stepEvents("step_0001", { ok: 1 }));
    await append(world, runId, [
      { type: "wait_created", correlationId: "wait_0002", data: { resumeAt: 5 } },
      { type: "wait_completed", correlationId: "wait_0002" },
      { type: "hook_created", correlationId: "hook_0003", data: { token: "secret-hook-token" } },
      { type: "hook_received", correlationId: "hook_0003", data: { payload: serialize(1, { path: "p" }) } },
    ]);
    await append(world, runId, [
      { type: "run_completed", data: { output: serialize("done", { path: "o" }) } },
    ]);

    const all = await get(handler, `runs/${runId}/state`, token, { headers: {} });
    expect(all.status).toBe(200);
    expect(all.headers.get("content-type")).toBe("application/json");
    expect(all.headers.get("stream-up-to-date")).toBe("true");
    expect(all.headers.get("stream-closed")).toBe("true");
    const tail = all.headers.get("stream-next-offset")!;
    expect(tail).toBe("0000000000000000_0000000000000010");
    const messages = (await all.json()) as { type: string; key: string; value: any; headers: any }[];
    expect(messages.map((m) => `${m.headers.operation} ${m.type} ${m.value.status}`)).toEqual([
      "insert run pending",
      "update run running",
      "insert step pending",
      "update step running",
      "update step completed",
      "insert wait waiting",
      "update wait completed",
      "insert hook active",
      "update hook active",
      "update run completed",
      "update hook disposed",
    ]);
    expect(messages.find((m) => m.type === "step" && m.value.status === "completed")!.value).toMatchObject({
      name: "charge",
      attempt: 1,
      output: { ok: 1 },
    });
    expect(messages.at(-2)!.value.output).toBe("done");
    expect(JSON.stringify(messages)).not.toContain("secret-hook-token");

    // Resuming from the offset after event 3 gives exactly the rest.
    const rest = await get(handler, `runs/${runId}/state?offset=0000000000000000_0000000000000003`, token);
    expect(await rest.json()).toEqual(messages.slice(3));
    // A fresh deriver (another worker, a restart) produces the same messages.
    const deriver = new RunStateDeriver();
    const again = (await world.readEvents(runId)).flatMap((e) => deriver.next(e).map((t) => JSON.parse(t)));
    expect(again).toEqual(messages);
    // At the tail of a finished run: nothing, closed.
    const end = await get(handler, `runs/${runId}/state?offset=${tail}&live=long-poll`, token);
    expect(end.status).toBe(204);
    expect(end.headers.get("stream-closed")).toBe("true");
  });

  it("answers malformed offsets with 400 and HEAD with the tail", async () => {
    const world = createMemoryWorld();
    const handler = createStreamsHandler({ world, secret: SECRET });
    const runId = await newRun(world, "wrun_head");
    const token = createReadToken(runId, { secret: SECRET });
    expect((await get(handler, `runs/${runId}/state?offset=abc`, token)).status).toBe(400);
    expect((await get(handler, `runs/${runId}/state?live=long-poll`, token)).status).toBe(400);
    const head = await get(handler, `runs/${runId}/state`, token, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("stream-next-offset")).toBe("0000000000000000_0000000000000001");
    const etag = (await get(handler, `runs/${runId}/state`, token)).headers.get("etag")!;
    const cached = await get(handler, `runs/${runId}/state`, token, { headers: { "if-none-match": etag } });
    expect(cached.status).toBe(304);
  });

  it("long-polls until the log grows, and times out with 204", async () => {
    const world = createMemoryWorld();
    const handler = createStreamsHandler({ world, secret: SECRET, longPollTimeoutMs: 300 });
    const runId = await newRun(world, "wrun_poll");
    const token = createReadToken(runId, { secret: SECRET });
    const tail = "0000000000000000_0000000000000001";
    const idle = await get(handler, `runs/${runId}/state?offset=${tail}&live=long-poll`, token);
    expect(idle.status).toBe(204);
    expect(idle.headers.get("stream-next-offset")).toBe(tail);
    expect(idle.headers.get("stream-cursor")).toMatch(/^\d+$/);
    const pending = get(handler, `runs/${runId}/state?offset=${tail}&live=long-poll`, token);
    setTimeout(() => void append(world, runId, [{ type: "run_started" }]), 50);
    const woke = await pending;
    expect(woke.status).toBe(200);
    expect(((await woke.json()) as any[])[0].value.status).toBe("running");
  });

  it("streams server-sent events with data and control events", async () => {
    const world = createMemoryWorld();
    const handler = createStreamsHandler({ world, secret: SECRET, longPollTimeoutMs: 100, sseMaxMs: 400 });
    const runId = await newRun(world, "wrun_sse");
    const token = createReadToken(runId, { secret: SECRET });
    const response = await get(handler, `runs/${runId}/state?offset=-1&live=sse`, token);
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    setTimeout(() => void append(world, runId, [{ type: "run_started" }]), 50);
    const text = await response.text();
    expect(text).toMatch(/^event: data\ndata:\[\{"type":"run"/);
    expect(text).toContain('"status":"running"');
    expect(text).toMatch(/event: control\ndata:\{"streamNextOffset":"0000000000000000_0000000000000002"/);
  });

  it("serves output chunks as JSON and closes with the writer", async () => {
    const world = createMemoryWorld();
    const handler = createStreamsHandler({ world, secret: SECRET });
    const runId = await newRun(world, "wrun_out");
    const token = createReadToken(runId, { secret: SECRET });
    await world.writeStream!(runId, "default", [
      serialize({ step: "a" }, { path: "c" }),
      serialize(new TextEncoder().encode("bytes"), { path: "c" }),
    ]);
    const first = await get(handler, `runs/${runId}/output`, token);
    expect(await first.json()).toEqual([{ step: "a" }, "bytes"]);
    expect(first.headers.get("stream-closed")).toBeNull();
    await world.writeStream!(runId, "logs", [serialize("x", { path: "c" })], { close: true });
    const logs = await get(handler, `runs/${runId}/output/logs?offset=-1`, token);
    expect(await logs.json()).toEqual(["x"]);
    expect(logs.headers.get("stream-closed")).toBe("true");
  });

  it("serves the runs list as upserts, resumable from an offset", async () => {
    const world = createMemoryWorld();
    const handler = createStreamsHandler({ world, secret: SECRET });
    const token = createReadToken("*", { secret: SECRET });
    await newRun(world, "wrun_l1");
    await newRun(world, "wrun_l2");
    const first = await get(handler, "runs", token);
    const rows = (await first.json()) as any[];
    expect(rows.map((r) => [r.key, r.headers.operation])).toEqual(
      expect.arrayContaining([
        ["wrun_l1", "upsert"],
        ["wrun_l2", "upsert"],
      ]),
    );
    const offset = first.headers.get("stream-next-offset")!;
    await new Promise((r) => setTimeout(r, 3));
    await append(world, "wrun_l2", [{ type: "run_started" }]);
    const next = await get(handler, `runs?offset=${offset}`, token);
    expect(((await next.json()) as any[]).map((r) => [r.key, r.value.status])).toEqual([
      ["wrun_l2", "running"],
    ]);
  });
});
