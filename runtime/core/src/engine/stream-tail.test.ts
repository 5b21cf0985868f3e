import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { writeWebResponse } from "../handlers/node-adapter.js";
import { FatalError } from "../sandbox/errors.js";
import { closingEngines, harness, registerStep } from "./__tests__/harness.js";
import { hostRuntime } from "./host-runtime.js";

const track = closingEngines();

async function readAll<T>(stream: ReadableStream<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const chunk of stream as unknown as AsyncIterable<T>) out.push(chunk);
  return out;
}

registerStep("step//./st.ts//write", async (count: number) => {
  const writer = hostRuntime.getWritable<string>().getWriter();
  for (let i = 0; i < count; i++) await writer.write(`line ${i}\n`);
  await writer.close();
});

// WDK's "Stream Failures" example: the producer's step succeeds, its stream errors afterwards.
registerStep("step//./st.ts//produce", async () => {
  return new ReadableStream<number>({
    start(controller) {
      controller.enqueue(1);
      controller.enqueue(2);
      controller.error(new Error("Stream failed"));
    },
  });
});
const seen: number[] = [];
registerStep("step//./st.ts//consume", async (stream: ReadableStream<number>) => {
  try {
    for await (const value of stream as unknown as AsyncIterable<number>) seen.push(value);
  } catch (error) {
    throw new FatalError(`Stream failed: ${(error as Error).message}`);
  }
  return "consumed";
});

describe("run.getReadable()", () => {
  it("getTailIndex() gives the last chunk's index (-1 when empty); a negative startIndex counts from the end", async () => {
    const h = track(
      harness({
        "workflow//./st.ts//lines": `async function lines(n) { await step("step//./st.ts//write")(n); return n; }`,
      }),
    );
    const empty = await h.start("workflow//./st.ts//lines", [0]);
    await empty.returnValue;
    await expect(empty.getReadable().getTailIndex()).resolves.toBe(-1);

    const run = await h.start("workflow//./st.ts//lines", [5]);
    await run.returnValue;
    const readable = run.getReadable({ startIndex: -2 });
    await expect(readable.getTailIndex()).resolves.toBe(4);
    await expect(readAll(readable)).resolves.toEqual(["line 3\n", "line 4\n"]);
    // More chunks back than exist: from the first.
    await expect(readAll(run.getReadable({ startIndex: -50 }))).resolves.toHaveLength(5);
    expect(() => run.getReadable({ startIndex: 1.5 })).toThrow(/startIndex must be an integer/);
  });

  it("new Response(run.readable) streams what the workflow wrote, as the docs' routes do", async () => {
    const h = track(
      harness({
        "workflow//./st.ts//lines": `async function lines(n) { await step("step//./st.ts//write")(n); return n; }`,
      }),
    );
    const run = await h.start("workflow//./st.ts//lines", [3]);
    await run.returnValue;
    // A route handler of a Node server (the adapter Next.js-style and `workflow/runtime` handlers go through).
    const server = createServer((_req, res) => {
      void writeWebResponse(res, new Response(run.readable, { headers: { "Content-Type": "text/plain" } }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const response = await fetch(`http://127.0.0.1:${port}/stream`);
      expect(response.headers.get("content-type")).toBe("text/plain");
      await expect(response.text()).resolves.toBe("line 0\nline 1\nline 2\n");
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it("an error of a step-returned stream reaches the consumer, which fails as documented", async () => {
    const h = track(
      harness({
        "workflow//./st.ts//streamError": `async function streamError() {
          const stream = await step("step//./st.ts//produce")();
          return await step("step//./st.ts//consume")(stream);
        }`,
      }),
    );
    const run = await h.start("workflow//./st.ts//streamError");
    const error = await run.returnValue.catch((e) => e);
    expect(error.cause).toMatchObject({ name: "FatalError", message: "Stream failed: Stream failed" });
    // Chunks queued before controller.error() are discarded by the Web Streams rules, so the consumer may see none.
    expect(seen.length).toBeLessThanOrEqual(2);
  });
});
