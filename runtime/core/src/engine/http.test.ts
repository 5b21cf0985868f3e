import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { eventTypes, harness } from "./__tests__/harness.js";
import type { Engine } from "./engine.js";
import { hostRuntime } from "./host-runtime.js";
import { WorkflowInstance } from "./instance.js";

const engines: Engine[] = [];
afterEach(() => {
  for (const e of engines.splice(0)) e.close();
});

let server: Server;
let base: string;
let hits = 0;
beforeAll(async () => {
  server = createServer((req, res) => {
    hits++;
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      if (req.url === "/bytes") {
        res.writeHead(200, { "content-type": "application/octet-stream" });
        res.end(Buffer.from([1, 2, 3]));
        return;
      }
      res.writeHead(201, { "content-type": "application/json", "x-server": "test" });
      res.end(JSON.stringify({ method: req.method, body, auth: req.headers.authorization ?? null }));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe("HTTP from workflow code", () => {
  it("runs fetch and the Response's body readers as steps, and replays them without new requests", async () => {
    const h = harness({
      "workflow//./x//call": `async function call(base) {
        const res = await rt().fetch(base + "/echo", { method: "POST", body: "hello", headers: { authorization: "Bearer t" } });
        const data = await res.json();
        const again = await rt().fetch(base + "/bytes");
        const bytes = new Uint8Array(await again.arrayBuffer());
        return { status: res.status, header: res.headers.get("x-server"), data, bytes: [...bytes], ok: again.ok };
      }`,
    });
    engines.push(h.engine);
    const run = await h.start("workflow//./x//call", [base]);
    const value = await run.returnValue;
    expect(value).toEqual({
      status: 201,
      header: "test",
      data: { method: "POST", body: "hello", auth: "Bearer t" },
      bytes: [1, 2, 3],
      ok: true,
    });
    const steps = (await h.world.listSteps(run.runId)).map((s) => s.stepName);
    expect(steps).toEqual([
      "step//workflow//fetch",
      "step//workflow//readBody",
      "step//workflow//fetch",
      "step//workflow//readBody",
    ]);
    expect(hits).toBe(2);
    // A replay of the whole log reads everything from it: no request is made again.
    const events = await h.world.readEvents(run.runId);
    const { compileWorkflowBundle } = await import("../vm/index.js");
    const code = await h.code.getWorkflowBundle("workflow//./x//call");
    const instance = new WorkflowInstance({
      runId: run.runId,
      workflowName: "workflow//./x//call",
      script: compileWorkflowBundle(code.code, { filename: code.filename }),
    });
    for (const event of events) await instance.apply(event);
    expect(instance.outcome).toMatchObject({ ok: true });
    expect(hits).toBe(2);
    expect((await eventTypes(h.world, run.runId)).at(-1)).toBe("run_completed");
  });

  it("is the platform's fetch in step code", async () => {
    const res = await hostRuntime.fetch(`${base}/bytes`);
    expect([...new Uint8Array(await res.arrayBuffer())]).toEqual([1, 2, 3]);
  });
});

describe("getWorkflowMetadata().url", () => {
  it("is WORKFLOW_BASE_URL when set", async () => {
    process.env.WORKFLOW_BASE_URL = "https://configured.example";
    try {
      const h = harness({
        "workflow//./x//url": `async function url() { return rt().getWorkflowMetadata().url; }`,
      });
      engines.push(h.engine);
      const run = await h.start("workflow//./x//url");
      await expect(run.returnValue).resolves.toBe("https://configured.example");
    } finally {
      delete process.env.WORKFLOW_BASE_URL;
    }
  });
});
