import { appendFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { World } from "@wfkit/world";
import { describe, expect, it, vi } from "vitest";
import { useTempWorlds } from "./__tests__/fixtures.js";
import { encodeFrame } from "./frame.js";

const { tempDir, open } = useTempWorlds("streams");

describe("local world streams", () => {
  it("lets another instance (process) tail a stream: it is notified of writes and reads them", async () => {
    const dataDir = tempDir();
    const writer = open(dataDir);
    const reader = open(dataDir);
    const { run } = await writer.createRun({ workflowName: "wf", input: "[]" });
    let notified = 0;
    const off = reader.subscribeStream!(run.runId, "out", () => notified++);
    await writer.writeStream!(run.runId, "out", ["a", "b"]);
    for (let i = 0; i < 100 && notified === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(notified).toBeGreaterThan(0);
    expect((await reader.readStream!(run.runId, "out", { startIndex: 1 })).chunks).toEqual([
      { index: 1, data: "b" },
    ]);
    await writer.writeStream!(run.runId, "out", ["c"], { close: true });
    expect(await reader.readStream!(run.runId, "out")).toMatchObject({ closed: true, chunks: [{}, {}, {}] });
    await expect(reader.writeStream!(run.runId, "out", ["d"])).rejects.toMatchObject({
      code: "STREAM_CLOSED",
    });
    off();
  });

  it("ignores a record still being written until its line is complete", async () => {
    const { world, runId, file } = await streamFile();
    await world.writeStream!(runId, "s", ["whole"]);
    const next = encodeFrame({ c: ["half done"] });
    appendFileSync(file, next.subarray(0, 10));
    expect(await chunksOf(world, runId)).toEqual(["whole"]);
    appendFileSync(file, next.subarray(10));
    expect(await chunksOf(world, runId)).toEqual(["whole", "half done"]);
  });

  it("a record torn by a full disk is skipped, and every later write and read works", async () => {
    const { world, runId, file, dataDir } = await streamFile();
    await world.writeStream!(runId, "s", ["a", "b"]);
    // What a write cut short by ENOSPC leaves: a prefix of a record, no closing newline.
    appendFileSync(file, encodeFrame({ c: ["lost", "lost too"] }).subarray(0, 17));
    const other = open(dataDir); // another process, reading while the fragment is the last thing in the file
    expect(await chunksOf(other, runId)).toEqual(["a", "b"]);
    expect(await world.writeStream!(runId, "s", ["c"])).toEqual({ nextIndex: 3 });
    await world.writeStream!(runId, "s", ["d"], { close: true });
    for (const reader of [world, other, open(dataDir)]) {
      expect(await reader.readStream!(runId, "s")).toEqual({
        closed: true,
        chunks: ["a", "b", "c", "d"].map((data, index) => ({ index, data })),
      });
    }
  });

  it("a reader never decodes half of a multi-byte character another process is writing", async () => {
    const { world, runId, file, dataDir } = await streamFile();
    const frame = encodeFrame({ c: ["prix: 5€ 😀"] });
    const cut = frame.indexOf(Buffer.from("€")) + 2; // two of the euro sign's three bytes
    appendFileSync(file, frame.subarray(0, cut));
    const reader = open(dataDir);
    expect(await chunksOf(reader, runId)).toEqual([]);
    appendFileSync(file, frame.subarray(cut));
    expect(await chunksOf(reader, runId)).toEqual(["prix: 5€ 😀"]);
    expect(await chunksOf(world, runId)).toEqual(["prix: 5€ 😀"]);
  });

  it("a damaged record is skipped and reported once; the numbering stays the same for every reader", async () => {
    const { world, runId, file, dataDir } = await streamFile();
    await world.writeStream!(runId, "s", ["a"]);
    const damaged = encodeFrame({ c: ["b"] });
    damaged[damaged.length - 4] = "X".charCodeAt(0);
    appendFileSync(file, damaged);
    await world.writeStream!(runId, "s", ["c"]);
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const reader = open(dataDir);
      expect(await chunksOf(reader, runId)).toEqual(["a", "c"]);
      await reader.readStream!(runId, "s");
      expect(errors).toHaveBeenCalledTimes(1);
      expect(String(errors.mock.calls[0]![0])).toContain(file);
    } finally {
      errors.mockRestore();
    }
  });
});

async function streamFile(): Promise<{ world: World; runId: string; file: string; dataDir: string }> {
  const dataDir = tempDir();
  const world = open(dataDir);
  const { run } = await world.createRun({ workflowName: "wf", input: "[]" });
  const dir = join(dataDir, "streams", run.runId);
  mkdirSync(dir, { recursive: true });
  return {
    world,
    runId: run.runId,
    file: join(dir, `${Buffer.from("s").toString("base64url")}.chunks`),
    dataDir,
  };
}

async function chunksOf(world: World, runId: string): Promise<string[]> {
  return (await world.readStream!(runId, "s")).chunks.map((c) => c.data);
}
