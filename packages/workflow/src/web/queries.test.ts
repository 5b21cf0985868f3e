/** The dashboard API over large runs and streams, on the memory world (values written as the engine does). */
import { worldFromEnv } from "@wfkit/core";
import { describe, expect, it } from "vitest";
import { serialize } from "../../../../runtime/core/src/serialization/codec.js";
import { createDashboard } from "./dashboard.js";

describe("a run of 10,000 steps", () => {
  it("opens with its timeline, leaves step values out of the detail, and pages its events", async () => {
    const world = await worldFromEnv({ WORKFLOW_TARGET_WORLD: "memory" });
    const { run } = await world.createRun({ workflowName: "workflow//./big//big", input: serialize([]) });
    let lastSeq = run.lastSeq;
    for (let i = 1; i <= 10_000; i += 500) {
      const batch = [];
      for (let j = i; j < i + 500; j++) {
        const correlationId = `step_${String(j).padStart(4, "0")}`;
        batch.push(
          {
            type: "step_created" as const,
            correlationId,
            data: { stepName: "step//./big//s", input: serialize({ args: [j] }) },
          },
          { type: "step_started" as const, correlationId, data: { attempt: 1 } },
          { type: "step_completed" as const, correlationId, data: { output: serialize(j * 2) } },
        );
      }
      lastSeq = (await world.append(run.runId, lastSeq, batch)).run.lastSeq;
    }
    const dashboard = createDashboard({ world, readOnly: true });
    const began = Date.now();
    const response = await dashboard(new Request(`http://x/api/runs/${run.runId}`));
    const detail = await response.json();
    expect(Date.now() - began).toBeLessThan(10_000);
    expect(detail.timeline.items).toHaveLength(10_000);
    expect(detail.steps).toHaveLength(10_000);
    expect(detail.stepValuesIncluded).toBe(false);
    expect(detail.steps[9_999]).toMatchObject({ stepId: "step_10000", status: "completed" });
    expect(detail.steps[9_999].output).toBeUndefined();
    const step = await (
      await dashboard(new Request(`http://x/api/runs/${run.runId}/steps/step_10000`))
    ).json();
    expect(step).toMatchObject({ input: { args: [10_000] }, output: 20_000 });
    const page = await (
      await dashboard(new Request(`http://x/api/runs/${run.runId}/events?after=29990&limit=100`))
    ).json();
    expect(page.data.map((e: { seq: number }) => e.seq)).toEqual([
      29_991, 29_992, 29_993, 29_994, 29_995, 29_996, 29_997, 29_998, 29_999, 30_000, 30_001,
    ]);
    expect(page.hasMore).toBe(false);
    await world.close();
  });
});

describe("a run's streams", () => {
  it("lists them and reads chunks decoded from an index; the live feed reports writes", async () => {
    const world = await worldFromEnv({ WORKFLOW_TARGET_WORLD: "memory" });
    const { run } = await world.createRun({ workflowName: "workflow//./s//s", input: serialize([]) });
    await world.writeStream?.(run.runId, "log", [
      serialize("line 1\n"),
      serialize(new TextEncoder().encode("line 2\n")),
    ]);
    const dashboard = createDashboard({ world });
    const get = async (path: string) =>
      (await dashboard(new Request(`http://x/api/runs/${run.runId}/${path}`))).json();
    expect((await get("streams")).data).toEqual([{ name: "log", chunks: 2, closed: false }]);

    const controller = new AbortController();
    const live = await dashboard(
      new Request(`http://x/api/live?runId=${run.runId}`, { signal: controller.signal }),
    );
    const reader = (live.body as ReadableStream<Uint8Array>).pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("event: ready")) text += (await reader.read()).value ?? "";
    // The server subscribes to the run's streams after "ready": give it a moment before writing.
    await new Promise((r) => setTimeout(r, 50));
    await world.writeStream?.(run.runId, "log", [serialize({ progress: 0.5 })], { close: true });
    while (!text.includes("event: stream")) text += (await reader.read()).value ?? "";
    expect(text).toContain(`data: {"runId":"${run.runId}","name":"log"}`);
    controller.abort();
    await reader.cancel().catch(() => {});

    expect(await get("streams/log")).toEqual({
      chunks: [
        { index: 0, text: "line 1\n" },
        { index: 1, text: "line 2\n" },
        { index: 2, value: { progress: 0.5 } },
      ],
      closed: true,
      next: 3,
    });
    expect(await get("streams/log?start=2")).toMatchObject({ chunks: [{ index: 2 }], next: 3 });
    expect((await dashboard(new Request(`http://x/api/runs/${run.runId}/streams/log?start=-1`))).status).toBe(
      400,
    );
    expect((await dashboard(new Request("http://x/api/runs/nope/streams"))).status).toBe(404);
    await world.close();
  });
});
