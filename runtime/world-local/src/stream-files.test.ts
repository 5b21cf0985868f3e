import { appendFileSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { World } from "@wfkit/world";
import { afterEach, describe, expect, it } from "vitest";
import { createLocalWorld } from "./local-world.js";

const dirs: string[] = [];
const worlds: World[] = [];
afterEach(async () => {
  for (const w of worlds.splice(0)) await w.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function open(dataDir: string): World {
  const w = createLocalWorld({ dataDir });
  worlds.push(w);
  return w;
}

describe("local world streams", () => {
  it("lets another instance (process) tail a stream: it is notified of writes and reads them", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "wfkit-streams-"));
    dirs.push(dataDir);
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
    const dataDir = mkdtempSync(join(tmpdir(), "wfkit-streams-"));
    dirs.push(dataDir);
    const world = open(dataDir);
    const { run } = await world.createRun({ workflowName: "wf", input: "[]" });
    await world.writeStream!(run.runId, "s", ["whole"]);
    const dir = join(dataDir, "streams", run.runId);
    const file = join(dir, readdirSync(dir)[0]!);
    appendFileSync(file, '"half');
    expect((await world.readStream!(run.runId, "s")).chunks.map((c) => c.data)).toEqual(["whole"]);
    appendFileSync(file, ' done"\n');
    expect((await world.readStream!(run.runId, "s")).chunks.map((c) => c.data)).toEqual([
      "whole",
      "half done",
    ]);
  });
});
