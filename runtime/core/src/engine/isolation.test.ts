/**
 * The sandbox guarantees seen through real runs: values cross with exactly their own keys, nothing the engine
 * hands workflow code leads to the host realm, the host is left alone, a run that never yields fails alone, and
 * values nested too deep are refused where they enter.
 */
import { describe, expect, it } from "vitest";
import { resumeHook, resumeWebhook } from "../api/hooks.js";
import { FatalError } from "../sandbox/errors.js";
import { SerializationError } from "../serialization/index.js";
import { closingEngines, harness, registerStep } from "./__tests__/harness.js";

const track = closingEngines();

async function waitFor(cond: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}

let seenInStep: unknown;
registerStep("step//./iso//echo", async (value: unknown) => {
  seenInStep = value;
  return value;
});
registerStep("step//./iso//tick", async (n: number) => n + 1);
registerStep("step//./iso//fail", async () => {
  throw new FatalError("no");
});
registerStep("step//./iso//response", async () => new Response("from a step", { status: 201 }));
registerStep("step//./iso//deep", async () => nested(1001));

function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: true };
  for (let i = 1; i < depth; i++) value = { a: value };
  return value;
}

/** Keys that assignment would not create as own keys, as JSON.parse does (webhook bodies, API payloads). */
const TRICKY = `{"constructor": 1, "toString": "x", "valueOf": [1], "hasOwnProperty": {"a": 1},
  "__proto__": {"polluted": true}, "isPrototypeOf": null, "nested": {"__proto__": [1], "toString": {}}}`;
const tricky = () => JSON.parse(TRICKY);

describe("values with keys like __proto__, constructor and toString", () => {
  it("round-trip through start, steps, hooks and webhook JSON bodies, in the host and in workflow code", async () => {
    const h = track(
      harness({
        "workflow//./iso//keys": `async function keys(input) {
          const fromStep = await step("step//./iso//echo")(input);
          const payload = await rt().createHook({ token: "iso-keys-hook" });
          const request = await rt().createWebhook({ token: "iso-keys-webhook" });
          const body = await request.json();
          const values = [input, fromStep, payload, body];
          const ownKeys = values.every((v) =>
            Object.getPrototypeOf(v) === Object.prototype && Object.hasOwn(v, "__proto__") &&
            Object.hasOwn(v, "constructor") && v.toString === "x" && Object.hasOwn(v.nested, "__proto__"));
          return { values, ownKeys, polluted: ({}).polluted };
        }`,
      }),
    );
    const run = await h.start<{ values: unknown[]; ownKeys: boolean; polluted: unknown }>(
      "workflow//./iso//keys",
      [tricky()],
    );
    await waitFor(async () => (await h.world.listHooks(run.runId)).length === 1);
    await resumeHook("iso-keys-hook", tricky(), h.engine);
    await waitFor(async () => (await h.world.listHooks(run.runId)).length === 2);
    const response = await resumeWebhook(
      "iso-keys-webhook",
      new Request("https://app.test/hook", { method: "POST", body: TRICKY }),
      { engine: h.engine },
    );
    expect(response.status).toBe(202);
    const result = await run.returnValue;
    expect(result.ownKeys).toBe(true);
    expect(result.polluted).toBeUndefined();
    expect(Reflect.ownKeys(seenInStep as object)).toEqual(Reflect.ownKeys(tricky()));
    for (const value of result.values) {
      expect(Reflect.ownKeys(value as object)).toEqual(Reflect.ownKeys(tricky()));
      expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
      expect(value).toEqual(tricky());
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // The application's own objects still take assignments of inherited names (the host was not hardened).
    expect(Object.isFrozen(Object.prototype) || Object.isFrozen(Function.prototype)).toBe(false);
    const own: Record<string, unknown> = {};
    own.toString = () => "app";
    expect(String(own)).toBe("app");
  });
});

/** Counts, inside workflow code, the objects reachable from `roots` whose prototype chain is not the realm's. */
const HOST_OBJECTS = `function hostObjects(roots) {
  const seen = new Set();
  const queue = [...roots];
  let hosts = 0;
  while (queue.length > 0) {
    const v = queue.pop();
    if ((typeof v !== "object" && typeof v !== "function") || v === null || seen.has(v)) continue;
    seen.add(v);
    let root = v;
    for (let p = Object.getPrototypeOf(root); p !== null; p = Object.getPrototypeOf(root)) root = p;
    if (root !== Object.prototype && root !== v) hosts++;
    queue.push(Object.getPrototypeOf(v));
    for (const key of Reflect.ownKeys(v)) {
      const d = Object.getOwnPropertyDescriptor(v, key);
      queue.push(d.value, d.get, d.set);
    }
  }
  return { hosts, seen: seen.size };
}`;

describe("what the engine hands workflow code", () => {
  it("belongs to the workflow realm: runtime, step proxies, hooks, metadata, streams, requests, errors", async () => {
    const h = track(
      harness({
        "workflow//./iso//audit": `async function audit() {
          ${HOST_OBJECTS}
          const caught = (f) => { try { f(); } catch (e) { return e; } };
          const proxy = globalThis[Symbol.for("wfkit.useStep")]("step//./iso//tick");
          const hook = rt().createHook();
          const webhook = rt().createWebhook({ token: "iso-audit" });
          let stepError;
          try { await step("step//./iso//fail")(); } catch (e) { stepError = e; }
          const response = await step("step//./iso//response")();
          const request = await webhook;
          const roots = [
            globalThis, rt(), proxy, await proxy(1), hook, hook[Symbol.asyncIterator](), webhook,
            rt().getWorkflowMetadata(), rt().getWritable(), globalThis[Symbol.for("wfkit.bodyReader")],
            stepError, response, request, request.headers, caught(() => request.respondWith(null)),
            caught(() => rt().resumeHook("t", 1)), caught(() => rt().getStepMetadata()),
            caught(() => rt().createHook({ token: 5 })), caught(() => rt().getWritable({ namespace: 5 })),
            rt().sleep(0), await response.text(),
          ];
          hook.dispose();
          return hostObjects(roots);
        }`,
      }),
    );
    const run = await h.start<{ hosts: number; seen: number }>("workflow//./iso//audit");
    await waitFor(async () => (await h.world.listHooks(run.runId)).length === 2);
    await resumeWebhook("iso-audit", new Request("https://app.test/h", { method: "POST", body: "b" }), {
      engine: h.engine,
    });
    const { hosts, seen } = await run.returnValue;
    expect(seen).toBeGreaterThan(300);
    expect(hosts).toBe(0);
  });
});

describe("workflow code that never yields", () => {
  it("fails its run with WORKFLOW_TIMEOUT while another run of the same engine completes", async () => {
    const h = track(
      harness(
        {
          "workflow//./iso//loop": `async function loop() {
            await step("step//./iso//tick")(0);
            while (true) {}
          }`,
          "workflow//./iso//steady": `async function steady() {
            let n = 0;
            for (let i = 0; i < 5; i++) n = await step("step//./iso//tick")(n);
            return n;
          }`,
        },
        { workflowCodeTimeoutMs: 300 },
      ),
    );
    const [looping, steady] = await Promise.all([
      h.start("workflow//./iso//loop"),
      h.start<number>("workflow//./iso//steady"),
    ]);
    const failure = await looping.returnValue.then(
      () => undefined,
      (error: Error & { cause?: { code?: string; message?: string } }) => error,
    );
    expect(failure?.cause?.code).toBe("WORKFLOW_TIMEOUT");
    expect(failure?.cause?.message).toMatch(/more than 300 ms without yielding/);
    await expect(steady.returnValue).resolves.toBe(5);
  });
});

describe("values nested deeper than the limit", () => {
  it("are refused by start() and resumeHook(), and fail the step that returns one", async () => {
    const h = track(
      harness({
        "workflow//./iso//waits": `async function waits() { return await rt().createHook({ token: "iso-deep" }); }`,
        "workflow//./iso//returnsDeep": `async function returnsDeep() {
          try { await step("step//./iso//deep")(); } catch (e) { return [e.name, e.message]; }
        }`,
      }),
    );
    const refused = await h.start("workflow//./iso//waits", [nested(1001)]).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SerializationError);
    expect((refused as SerializationError).path).toBe(`args[0]${".a".repeat(999)}`);
    expect((refused as Error).message).toMatch(/nested more than 1000 levels deep/);

    // The arguments array is the first level.
    const run = await h.start("workflow//./iso//waits", [nested(999)]);
    await waitFor(async () => (await h.world.listHooks(run.runId)).length === 1);
    await expect(resumeHook("iso-deep", nested(1001), h.engine)).rejects.toThrow(
      /^hook payload\.a\.a.*nested more than 1000 levels deep/,
    );
    await resumeHook("iso-deep", nested(1000), h.engine);
    await expect(run.returnValue).resolves.toBeTruthy();

    const fromStep = await h.start<[string, string]>("workflow//./iso//returnsDeep");
    const [name, message] = await fromStep.returnValue;
    expect(name).toBe("SerializationError");
    expect(message).toMatch(
      /^Failed to serialize step return value at path "step\/\/\.\/iso\/\/deep return value\.a\.a.*nested more than 1000 levels deep/,
    );
  });
});
