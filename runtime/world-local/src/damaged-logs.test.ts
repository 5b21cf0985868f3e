/**
 * A damaged run log must never make recorded work run again: the run is quarantined (named error, readable
 * prefix kept, never offered to an engine), while torn writes from crashes keep being skipped.
 */
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { NewEvent } from "@wfkit/world";
import { describe, expect, it } from "vitest";
import { captureConsoleError, errorOf, useTempWorlds } from "./__tests__/fixtures.js";
import { encodeFrame } from "./frame.js";
import { createLocalWorld } from "./local-world.js";

const { tempDir, open } = useTempWorlds("damaged", { watch: false });
const consoleError = captureConsoleError();

const step = (id: string): NewEvent[] => [
  { type: "step_created", correlationId: id, data: { stepName: "s", input: "[]" } },
  { type: "step_started", correlationId: id, data: { attempt: 1 } },
];

/** A finished run with four completed steps, one record per batch, as an engine writes it. */
async function finishedRunWithFourSteps(dataDir: string): Promise<{ runId: string; file: string }> {
  const world = createLocalWorld({ dataDir, watch: false });
  const { run } = await world.createRun({ workflowName: "wf", input: "[]" });
  const lease = (await world.acquireLease(run.runId, "executor", 60_000))!;
  let seq = (await world.append(run.runId, 1, [{ type: "run_started" }], { lease })).run.lastSeq;
  for (const id of ["s1", "s2", "s3", "s4"]) {
    seq = (await world.append(run.runId, seq, step(id), { lease })).run.lastSeq;
    seq = (
      await world.append(
        run.runId,
        seq,
        [{ type: "step_completed", correlationId: id, data: { output: `"${id}"` } }],
        { lease },
      )
    ).run.lastSeq;
  }
  await world.append(run.runId, seq, [{ type: "run_completed", data: { output: '"done"' } }], { lease });
  await world.releaseLease(lease);
  await world.close();
  return { runId: run.runId, file: join(dataDir, "runs", `${run.runId}.log`) };
}

function flipByte(file: string, offset: number): void {
  const bytes = readFileSync(file);
  bytes[offset] = bytes[offset]! ^ 0x01;
  writeFileSync(file, bytes);
}

describe("local world: damaged logs", () => {
  it("a flipped byte in the middle of a finished run's log quarantines it instead of reopening it", async () => {
    const dataDir = tempDir();
    const { runId, file } = await finishedRunWithFourSteps(dataDir);
    const size = readFileSync(file).length;
    flipByte(file, Math.floor(size / 2));

    const world = open(dataDir);
    const run = await world.getRun(runId);
    expect(run.quarantine).toMatchObject({ code: "RUN_LOG_CORRUPT", atSeq: run.lastSeq + 1 });
    expect(run.quarantine!.reason).toContain(file);
    // No engine is offered it: not unfinished, not due, no deliveries to sweep.
    expect((await world.listUnfinished()).items).toEqual([]);
    expect(await world.listDue(Number.MAX_SAFE_INTEGER)).toEqual([]);
    expect(await world.nextWakeAt()).toBeUndefined();
    expect(await world.listDeliveryRuns(Number.MAX_SAFE_INTEGER)).toEqual([]);
    // Nor can it be taken or written.
    const refused = await errorOf(world.acquireLease(runId, "engine", 10_000));
    expect(refused.code).toBe("RUN_LOG_CORRUPT");
    expect(refused.message).toContain(file);
    expect(refused.message).toMatch(/at byte \d+/);
    expect(refused.message).toMatch(/truncate -s \d+/);
    expect((await errorOf(world.append(runId, run.lastSeq, [{ type: "run_started" }]))).code).toBe(
      "RUN_LOG_CORRUPT",
    );
    const delivery = {
      deliveryId: "d",
      event: { type: "hook_received" as const, correlationId: "h", data: { payload: "1" } },
    };
    expect((await errorOf(world.deliver(runId, delivery))).code).toBe("RUN_LOG_CORRUPT");
    // The readable prefix stays readable, densely numbered.
    const events = await world.readEvents(runId);
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: run.lastSeq }, (_, i) => i + 1));
    expect(events.length).toBeLessThan(14);
    // Reported to operators once, however often it is touched.
    await world.getRun(runId);
    await world.listRuns();
    const reports = consoleError.spy.mock.calls.filter(
      (c) => String(c[0]).includes("RUN_LOG_CORRUPT") || String(c[0]).includes(runId),
    );
    expect(reports).toHaveLength(1);
    expect(String(reports[0]![0])).toContain(file);
    // Listing for operators still shows it, marked.
    expect((await world.listRuns()).items[0].quarantine?.code).toBe("RUN_LOG_CORRUPT");
  });

  it("any single flipped byte before the last record quarantines the run; in the last one it at most loses it", async () => {
    const dataDir = tempDir();
    const { runId, file } = await finishedRunWithFourSteps(dataDir);
    const original = readFileSync(file);
    const lastRecordStart = original.lastIndexOf(Buffer.from("\n\n")) + 1;
    const fullEvents = await open(dataDir).readEvents(runId);
    for (let offset = 0; offset < original.length; offset++) {
      const bytes = Buffer.from(original);
      bytes[offset] = bytes[offset]! ^ 0x01;
      writeFileSync(file, bytes);
      const world = createLocalWorld({ dataDir, watch: false });
      try {
        const run = await world.getRun(runId);
        const quarantined =
          run === undefined
            ? (await errorOf(world.readEvents(runId))).code === "RUN_LOG_CORRUPT"
            : run.quarantine?.code === "RUN_LOG_CORRUPT";
        if (offset < lastRecordStart) {
          expect(quarantined, `flip at byte ${offset} of ${original.length}`).toBe(true);
        } else if (!quarantined) {
          // Indistinguishable from a record torn by a crash: at most what the last record held is missing.
          const events = await world.readEvents(runId);
          expect(events, `flip at byte ${offset}`).toEqual(fullEvents.slice(0, events.length));
          expect(events.length, `flip at byte ${offset}`).toBeGreaterThanOrEqual(fullEvents.length - 1);
        }
        if (quarantined) expect((await world.listUnfinished()).items).toEqual([]);
      } finally {
        await world.close();
      }
    }
  }, 60_000);

  it("a valid record whose seq skips ahead proves a missing record, also when another process wrote it", async () => {
    const dataDir = tempDir();
    const world = open(dataDir);
    const { run } = await world.createRun({ workflowName: "wf", input: "[]" });
    const lease = (await world.acquireLease(run.runId, "executor", 60_000))!;
    await world.append(run.runId, 1, [{ type: "run_started" }], { lease });
    // A record of seq 4 right after seq 2: no writer can produce it (they write head + 1 of a head they read).
    const file = join(dataDir, "runs", `${run.runId}.log`);
    appendFileSync(file, encodeFrame({ n: "x", s: 4, e: [{ type: "run_started", createdAt: 1 }] }));
    const refused = await errorOf(world.append(run.runId, 2, step("s1"), { lease }));
    expect(refused.code).toBe("RUN_LOG_CORRUPT");
    expect(refused.message).toContain("seq 4 follows seq 2");
    expect((await world.getRun(run.runId)).quarantine?.atSeq).toBe(3);
    expect(await world.renewLease(lease, 1_000)).toBeUndefined();
    expect((await world.readEvents(run.runId)).map((e) => e.seq)).toEqual([1, 2]);
  });

  it("a damaged lease record quarantines the run rather than dropping the events written under it", async () => {
    const dataDir = tempDir();
    const world = open(dataDir);
    const { run } = await world.createRun({ workflowName: "wf", input: "[]" });
    const lease = (await world.acquireLease(run.runId, "executor", 60_000))!;
    await world.append(run.runId, 1, [{ type: "run_started" }], { lease });
    await world.close();
    const file = join(dataDir, "runs", `${run.runId}.log`);
    const bytes = readFileSync(file);
    flipByte(file, bytes.indexOf(Buffer.from('"take"')) + 2);

    const again = open(dataDir);
    expect((await again.getRun(run.runId)).quarantine?.code).toBe("RUN_LOG_CORRUPT");
    expect((await again.readEvents(run.runId)).map((e) => e.type)).toEqual(["run_created"]);
  });

  it("still skips what crashes leave: a torn record followed by later writes, and a torn tail", async () => {
    const dataDir = tempDir();
    const world = open(dataDir);
    const { run } = await world.createRun({ workflowName: "wf", input: "[]" });
    const file = join(dataDir, "runs", `${run.runId}.log`);
    const torn = encodeFrame({ n: "t", s: 2, e: [{ type: "run_started", createdAt: 1 }] });
    appendFileSync(file, torn.subarray(0, torn.length - 9));
    await world.append(run.runId, 1, [{ type: "run_started" }]);
    appendFileSync(file, torn.subarray(0, 20));
    const reader = open(dataDir);
    expect((await reader.getRun(run.runId)).quarantine).toBeUndefined();
    expect((await reader.readEvents(run.runId)).map((e) => e.type)).toEqual(["run_created", "run_started"]);
    await reader.append(run.runId, 2, step("s1"));
    expect((await open(dataDir).getRun(run.runId))!.lastSeq).toBe(4);
    expect(consoleError.spy).not.toHaveBeenCalled();
  });
});
