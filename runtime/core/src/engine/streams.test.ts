import { afterEach, describe, expect, it } from "vitest";
import { eventTypes, harness, registerStep } from "./__tests__/harness.js";
import type { Engine } from "./engine.js";
import { hostRuntime } from "./host-runtime.js";

const engines: Engine[] = [];
function track<T extends { engine: Engine }>(h: T): T {
  engines.push(h.engine);
  return h;
}
afterEach(() => {
  for (const e of engines.splice(0)) e.close();
});

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function readAll<T>(stream: ReadableStream<T>, max = Number.POSITIVE_INFINITY): Promise<T[]> {
  const out: T[] = [];
  const reader = stream.getReader();
  while (out.length < max) {
    const { value, done } = await reader.read();
    if (done) break;
    out.push(value);
  }
  await reader.cancel();
  return out;
}

registerStep("step//./s//emit", async (count: number, delayMs: number) => {
  const writer = hostRuntime.getWritable().getWriter();
  for (let i = 0; i < count; i++) {
    await writer.write({ i });
    if (delayMs) await pause(delayMs);
  }
  await writer.close();
  return count;
});

registerStep("step//./s//mixed", async (writable: WritableStream<unknown>) => {
  const writer = writable.getWriter();
  await writer.write("text");
  await writer.write(new Uint8Array([0, 1, 254, 255]));
  await writer.write({ nested: { at: new Date(7) } });
  await writer.close();
});

registerStep("step//./s//produce", async () => {
  const chunks = ["x", "y", "z"];
  return new ReadableStream<string>({
    async pull(controller) {
      await pause(5);
      const next = chunks.shift();
      if (next === undefined) controller.close();
      else controller.enqueue(next);
    },
  });
});

registerStep("step//./s//consume", async (readable: ReadableStream<string>) =>
  (await readAll(readable)).join(""),
);

describe("streams", () => {
  it("makes what a step writes durable and readable from any offset", async () => {
    const h = track(
      harness({ "workflow//./s//emit": `async function emit() { return step("step//./s//emit")(5, 0); }` }),
    );
    const run = await h.start("workflow//./s//emit");
    await expect(run.returnValue).resolves.toBe(5);
    expect(await readAll(run.readable)).toEqual([0, 1, 2, 3, 4].map((i) => ({ i })));
    expect(await readAll(run.getReadable({ startIndex: 3 }))).toEqual([{ i: 3 }, { i: 4 }]);
    // Chunks live in the world, not in the log.
    expect((await eventTypes(h.world, run.runId)).some((t) => t.includes("stream"))).toBe(false);
    expect((await h.world.readStream!(run.runId, "default")).closed).toBe(true);
  });

  it("follows a stream live, and resumes after a disconnect with nothing lost or repeated", async () => {
    const h = track(
      harness({ "workflow//./s//slow": `async function slow() { return step("step//./s//emit")(8, 15); }` }),
    );
    const run = await h.start("workflow//./s//slow");
    // Connected before anything is written: the reader waits for chunks as they come.
    const first = await readAll(run.getReadable(), 3);
    expect(first).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }]);
    expect(await run.status).toBe("running");
    const rest = await readAll(run.getReadable({ startIndex: first.length }));
    expect([...first, ...rest]).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((i) => ({ i })));
  });

  it("passes a workflow's writable (with a namespace) to a step; text, binary and object chunks arrive intact", async () => {
    const h = track(
      harness({
        "workflow//./s//ns": `async function ns() {
          const w = rt().getWritable({ namespace: "data" });
          let refused;
          try { w.getWriter(); } catch (e) { refused = e.message; }
          await step("step//./s//mixed")(w);
          return refused;
        }`,
      }),
    );
    const run = await h.start<string>("workflow//./s//ns");
    await expect(run.returnValue).resolves.toMatch(/Workflow code cannot write to a stream/);
    const chunks = await readAll(run.getReadable({ namespace: "data" }));
    expect(chunks).toEqual(["text", new Uint8Array([0, 1, 254, 255]), { nested: { at: new Date(7) } }]);
    expect(chunks[1]).toBeInstanceOf(Uint8Array);
    expect((await h.world.readStream!(run.runId, "default")).chunks).toEqual([]);
  });

  it("carries a ReadableStream returned by a step to another step and out as the run's result", async () => {
    const h = track(
      harness({
        "workflow//./s//relay": `async function relay() {
          const readable = await step("step//./s//produce")();
          const joined = await step("step//./s//consume")(readable);
          const again = await step("step//./s//produce")();
          return { joined, again };
        }`,
      }),
    );
    const run = await h.start<{ joined: string; again: ReadableStream<string> }>("workflow//./s//relay");
    const result = await run.returnValue;
    expect(result.joined).toBe("xyz");
    expect(result.again).toBeInstanceOf(ReadableStream);
    expect(await readAll(result.again)).toEqual(["x", "y", "z"]);
  });

  it("carries a ReadableStream passed to start() into the run", async () => {
    const h = track(
      harness({
        "workflow//./s//arg": `async function arg(readable) { return step("step//./s//consume")(readable); }`,
      }),
    );
    const input = new ReadableStream<string>({
      start(controller) {
        for (const c of ["a", "b", "c"]) controller.enqueue(c);
        controller.close();
      },
    });
    const run = await h.start<string>("workflow//./s//arg", [input]);
    await expect(run.returnValue).resolves.toBe("abc");
  });

  it("explains where getWritable() works", () => {
    expect(() => hostRuntime.getWritable()).toThrow(/call it in workflow code or in a step/);
  });
});
