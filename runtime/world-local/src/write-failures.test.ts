/**
 * A write that the disk refuses part-way (ENOSPC), injected at the `node:fs` boundary: the caller gets the
 * error, the torn bytes it left count for nobody, and the next write lands whole, for run logs and streams.
 */
import * as fs from "node:fs";
import { readlinkSync } from "node:fs";
import type { World } from "@wfkit/world";
import { afterEach, describe, expect, it, vi } from "vitest";
import { useTempWorlds } from "./__tests__/fixtures.js";

vi.mock("node:fs", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:fs")>();
  return { ...real, writeSync: vi.fn(real.writeSync) };
});

const realWriteSync = (await vi.importActual<typeof import("node:fs")>("node:fs")).writeSync;

/**
 * The next write to a file whose name ends with `suffix` puts half of its bytes in the file, then fails as a full
 * disk does. (Linux names an open descriptor's file under /proc/self/fd.)
 */
function diskFillsDuringNextWrite(suffix: string): void {
  let fired = false;
  const write = (fd: number, buf: NodeJS.ArrayBufferView, offset?: number | null, length?: number | null) => {
    const from = offset ?? 0;
    const len = length ?? buf.byteLength - from;
    if (fired || !readlinkSync(`/proc/self/fd/${fd}`).endsWith(suffix))
      return realWriteSync(fd, buf, from, len);
    fired = true;
    realWriteSync(fd, buf, from, Math.max(1, Math.floor(len / 2)));
    throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
  };
  vi.mocked(fs.writeSync).mockImplementation(write as unknown as typeof fs.writeSync);
}

const worlds = useTempWorlds("enospc", { watch: false });
afterEach(() => {
  vi.mocked(fs.writeSync).mockImplementation(realWriteSync as typeof fs.writeSync);
});

function setup(): { open: () => World } {
  const dataDir = worlds.tempDir();
  return { open: () => worlds.open(dataDir) };
}

describe("local world: a full disk mid-write", () => {
  it("a stream write that fails part-way counts for nobody; the next write and every reader agree", async () => {
    const { open } = setup();
    const world = open();
    const { run } = await world.createRun({ workflowName: "wf", input: "[]" });
    await world.writeStream!(run.runId, "out", ["a"]);
    diskFillsDuringNextWrite(".chunks");
    await expect(world.writeStream!(run.runId, "out", ["b", "c"])).rejects.toMatchObject({ code: "ENOSPC" });
    expect((await world.readStream!(run.runId, "out")).chunks.map((c) => c.data)).toEqual(["a"]);
    // Space is back: the retried batch lands whole, numbered right after "a".
    expect(await world.writeStream!(run.runId, "out", ["b", "c"], { close: true })).toEqual({ nextIndex: 3 });
    for (const reader of [world, open()]) {
      expect(await reader.readStream!(run.runId, "out")).toEqual({
        closed: true,
        chunks: ["a", "b", "c"].map((data, index) => ({ index, data })),
      });
    }
  });

  it("an append that fails part-way is not in the log; the next append gets the same seq", async () => {
    const { open } = setup();
    const world = open();
    const { run } = await world.createRun({ workflowName: "wf", input: "[]" });
    diskFillsDuringNextWrite(".log");
    await expect(world.append(run.runId, 1, [{ type: "run_started" }])).rejects.toMatchObject({
      code: "ENOSPC",
    });
    expect((await world.getRun(run.runId))!.lastSeq).toBe(1);
    const { events } = await world.append(run.runId, 1, [{ type: "run_started" }]);
    expect(events[0]!.seq).toBe(2);
    const fresh = open();
    expect((await fresh.readEvents(run.runId)).map((e) => e.type)).toEqual(["run_created", "run_started"]);
    expect(((await fresh.getRun(run.runId)) as { quarantine?: unknown }).quarantine).toBeUndefined();
  });

  it("an append creating a hook that fails part-way leaves its token free for others at once", async () => {
    const { open } = setup();
    const world = open();
    const a = (await world.createRun({ workflowName: "wf", input: "[]" })).run;
    const b = (await world.createRun({ workflowName: "wf", input: "[]" })).run;
    const hook = { type: "hook_created" as const, correlationId: "h", data: { token: "shared" } };
    diskFillsDuringNextWrite(".log");
    await expect(world.append(a.runId, 1, [hook])).rejects.toMatchObject({ code: "ENOSPC" });
    await world.append(b.runId, 1, [hook]);
    expect(await open().getHookByToken("shared")).toMatchObject({ runId: b.runId });
  });
});
