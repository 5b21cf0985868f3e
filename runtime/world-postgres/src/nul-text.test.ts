/**
 * Postgres text and jsonb cannot hold U+0000. Identifiers that contain it are refused on write and unknown on
 * lookup; payloads that contain it (raw, or escaped by the engine's serializer) are stored and read back exactly.
 */
import { isWorldError, type NewEvent, type World } from "@wfkit/world";
import { describe, expect, it } from "vitest";
import { sharedInstances } from "./__tests__/shared-instances.js";
import { decodeText, encodeText, parseJson, toJson } from "./text-codec.js";

/** The codec's marker: a Unicode noncharacter. Strings that begin with it must round-trip too. */
const MARK = "\uFDD0";
const tricky = [
  "a\u0000b",
  "\u0000",
  '"a\\u0000b"', // what the engine's serializer makes of "a\0b": six plain characters, must stay as they are
  `${MARK}"x"`,
  `${MARK}not json`,
  `x${MARK}0`,
  "",
  "plain",
];

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (error) {
    if (isWorldError(error)) return error.code;
    throw error;
  }
  return undefined;
}

describe("text codec", () => {
  it("round-trips every string, and leaves ordinary ones (and JSON) untouched", () => {
    for (const s of tricky) {
      const encoded = encodeText(s);
      expect(encoded.includes("\u0000")).toBe(false);
      expect(decodeText(encoded)).toBe(s);
    }
    expect(encodeText("plain")).toBe("plain");
    expect(encodeText('"a\\u0000b"')).toBe('"a\\u0000b"');
    const value = { "k\u0000": tricky, nested: { [MARK]: [MARK, "\u0000"] }, n: 1, t: true, z: null };
    const json = toJson(value);
    expect(json).not.toMatch(/(^|[^\\])(\\\\)*\\u0000/); // no escaped NUL left for Postgres to refuse
    expect(parseJson(json)).toEqual(value);
    expect(toJson({ a: "plain", b: ['"a\\u0000b"'] })).toBe(
      JSON.stringify({ a: "plain", b: ['"a\\u0000b"'] }),
    );
  });
});

describe("postgres world: NUL characters", () => {
  const { open } = sharedInstances();

  const step = (id: string, input: string): NewEvent => ({
    type: "step_created",
    correlationId: id,
    data: { stepName: "step//./m//s", input },
  });

  it("lookups of keys containing NUL answer as for any unknown key", async () => {
    const w = await open();
    const { run } = await w.createRun({ workflowName: "wf", input: "[]" });
    const bad = "wrun_\u0000";
    expect(await w.getRun(bad)).toBeUndefined();
    expect(await w.getStep(run.runId, "s\u0000")).toBeUndefined();
    expect(await w.getHookByToken("tok\u0000")).toBeUndefined();
    for (const call of [
      () => w.readEvents(bad),
      () => w.listSteps(bad),
      () => w.listWaits(bad),
      () => w.listHooks(bad),
      () => w.listDeliveries(bad),
      () => w.acquireLease(bad, "me", 1_000),
      () => w.append(bad, 1, [{ type: "run_started" }]),
      () => w.readStream!(bad, "s"),
      () => w.writeStream!(bad, "s", ["x"]),
      () => w.listStepTasks!(bad),
    ]) {
      expect(await codeOf(call())).toBe("RUN_NOT_FOUND");
    }
    expect(await w.renewLease({ runId: bad, owner: "me", token: 1, expiresAt: 0 }, 1_000)).toBeUndefined();
    await w.releaseLease({ runId: bad, owner: "me", token: 1, expiresAt: 0 });
    expect(await w.readStream!(run.runId, "s\u0000")).toEqual({ chunks: [], closed: false });
    expect((await w.listRuns({ workflowName: "wf\u0000" })).items).toEqual([]);
    // A cursor is opaque, but one decoded into a NUL run ID must not reach Postgres raw either.
    const cursor = Buffer.from(JSON.stringify([Date.now(), bad])).toString("base64url");
    expect((await w.listRuns({ cursor })).items.map((r) => r.runId)).toContain(run.runId);
  });

  it("writes of a run ID, hook token or stream name containing NUL are refused, naming the value", async () => {
    const w = await open();
    const created = w.createRun({ runId: "wrun_a\u0000b", workflowName: "wf", input: "[]" });
    await expect(created).rejects.toMatchObject({
      code: "INVALID_RUN_ID",
      message: expect.stringMatching(/"wrun_a\\u0000b".*NUL/),
    });
    const { run } = await w.createRun({ workflowName: "wf", input: "[]" });
    const hooked = w.append(run.runId, 1, [
      { type: "hook_created", correlationId: "h", data: { token: "tok\u0000en" } },
    ]);
    await expect(hooked).rejects.toMatchObject({
      code: "INVALID_TOKEN",
      message: expect.stringMatching(/"tok\\u0000en".*NUL/),
    });
    const streamed = w.writeStream!(run.runId, "out\u0000", ["x"]);
    await expect(streamed).rejects.toMatchObject({
      code: "INVALID_STREAM_NAME",
      message: expect.stringMatching(/"out\\u0000".*NUL/),
    });
    // Nothing was stored, and the world goes on.
    expect((await w.getRun(run.runId))!.lastSeq).toBe(1);
    expect(await w.readStream!(run.runId, "out")).toEqual({ chunks: [], closed: false });
    await w.append(run.runId, 1, [{ type: "run_started" }]);
  });

  it("payloads with raw or escaped NUL (and the codec's marker) are stored and read back exactly", async () => {
    const a = await open();
    const metadata = { "k\u0000": "v\u0000", list: tricky, [MARK]: { deep: `${MARK}"y"` } };
    const { run } = await a.createRun({
      workflowName: "wf",
      input: "in\u0000put",
      deploymentId: "dep\u0000",
      metadata,
    });
    const events: NewEvent[] = [
      { type: "run_started" },
      ...tricky.map((s, i) => step(`s${i}`, s)),
      { type: "step_completed", correlationId: "s0", data: { output: "out\u0000" } },
      { type: "step_failed", correlationId: "s1", data: { error: `${MARK}"e"` } },
      {
        type: "hook_created",
        correlationId: "h",
        data: { token: `${MARK}tok`, metadata: "meta\u0000", options: '"\\u0000"' },
      },
    ];
    const appended = await a.append(run.runId, 1, events);
    // Another instance (nothing cached) reads what the database holds.
    const b = await open();
    for (const w of [a, b] as World[]) {
      expect(await w.getRun(run.runId)).toMatchObject({
        input: "in\u0000put",
        deploymentId: "dep\u0000",
        metadata,
      });
      expect(await w.readEvents(run.runId, { afterSeq: 1 })).toEqual(appended.events);
      const steps = await w.listSteps(run.runId);
      expect(steps.map((s) => s.input).sort()).toEqual([...tricky].sort());
      expect(steps.find((s) => s.stepId === "s0")).toMatchObject({ output: "out\u0000" });
      expect(steps.find((s) => s.stepId === "s1")).toMatchObject({ error: `${MARK}"e"` });
      expect(await w.getHookByToken(`${MARK}tok`)).toMatchObject({
        metadata: "meta\u0000",
        options: '"\\u0000"',
      });
    }
    // b appends from rows it read (not from a cache): what it writes back must still be exact.
    await b.append(run.runId, appended.run.lastSeq, [
      { type: "step_started", correlationId: "s2", data: { attempt: 1 } },
    ]);
    expect((await a.getStep(run.runId, "s2"))!.input).toBe(tricky[2]);
    expect((await a.getRun(run.runId))!.metadata).toEqual(metadata);
  });

  it("stream chunks and step tasks with NUL round-trip", async () => {
    const w = await open();
    const { run } = await w.createRun({ workflowName: "wf", input: "[]" });
    await w.writeStream!(run.runId, `${MARK}s`, tricky, { close: true });
    const page = await w.readStream!(run.runId, `${MARK}s`);
    expect(page.chunks.map((c) => c.data)).toEqual(tricky);
    await w.offerStepTasks!([
      {
        runId: run.runId,
        correlationId: "t\u0000",
        attempt: 1,
        stepName: "n",
        input: "i\u0000",
        runStartedAt: 1,
      },
    ]);
    const [claimed] = await w.claimStepTasks!("own\u0000er", 10_000, 1);
    expect(claimed).toMatchObject({
      correlationId: "t\u0000",
      input: "i\u0000",
      claim: { owner: "own\u0000er" },
    });
    const outcome = { type: "step_completed" as const, data: { output: "o\u0000" } };
    expect(await w.completeStepTask!(claimed!, outcome)).toBe(true);
    expect((await w.listStepTasks!(run.runId))[0]).toMatchObject({ correlationId: "t\u0000", outcome });
  });

  it("payloads with NUL survive the group-commit batch path", async () => {
    const w = await open({ poolSize: 1 });
    const runs = await Promise.all(
      Array.from({ length: 12 }, (_, i) => w.createRun({ workflowName: "wf", input: `in${i}\u0000` })),
    );
    await Promise.all(runs.map(({ run }, i) => w.append(run.runId, 1, [step("s", `x${i}\u0000${MARK}`)])));
    expect(w.groupedCalls.creates.batches + w.groupedCalls.appends.batches).toBeGreaterThan(0);
    const other = await open();
    for (const [i, { run }] of runs.entries()) {
      expect((await other.getRun(run.runId))!.input).toBe(`in${i}\u0000`);
      expect((await other.getStep(run.runId, "s"))!.input).toBe(`x${i}\u0000${MARK}`);
    }
  });
});
