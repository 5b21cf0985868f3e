/**
 * The engine on the local world, after a run's log file was damaged on disk: the world quarantines the run, so
 * an engine that resumes pending runs never drives it again and no recorded step runs a second time.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLocalWorld } from "@wfkit/world-local";
import { afterEach, describe, expect, it, vi } from "vitest";
import { harness, registerStep } from "./__tests__/harness.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

let stepCalls = 0;
registerStep("step//./damage//count", async (i: number) => {
  stepCalls++;
  return i;
});
const workflows = {
  "workflow//./damage//four": `async function four() {
    const out = [];
    for (let i = 0; i < 4; i++) out.push(await step("step//./damage//count")(i));
    return out;
  }`,
};

describe("engine on a damaged local log", () => {
  it("a finished run whose log has a flipped byte in the middle is not driven again", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "wfkit-engine-damage-"));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const first = harness(workflows, { world: createLocalWorld({ dataDir, watch: false }) });
    const run = await first.start<number[]>("workflow//./damage//four");
    await expect(run.returnValue).resolves.toEqual([0, 1, 2, 3]);
    first.engine.close();
    await first.world.close();
    expect(stepCalls).toBe(4);

    const file = join(dataDir, "runs", `${run.runId}.log`);
    const bytes = readFileSync(file);
    bytes[bytes.length >> 1]! ^= 0x01;
    writeFileSync(file, bytes);

    const consoleError = vi.spyOn(console, "error").mockImplementation(() => {});
    cleanups.push(() => consoleError.mockRestore());
    const world = createLocalWorld({ dataDir, watch: false });
    const second = harness(workflows, { world });
    cleanups.push(async () => {
      second.engine.close();
      await world.close();
    });
    expect(await second.engine.resumePendingRuns()).toBe(0);
    await new Promise((r) => setTimeout(r, 100));
    expect(stepCalls).toBe(4);
    expect(
      consoleError.mock.calls.some(
        (c) => String(c[0]).includes("RUN_LOG_CORRUPT") || String(c[0]).includes(file),
      ),
    ).toBe(true);
    await expect(world.acquireLease(run.runId, "anyone", 1_000)).rejects.toMatchObject({
      code: "RUN_LOG_CORRUPT",
    });
  });
});
