/**
 * OpenTelemetry spans with the SDK's in-memory exporter: a run started in one engine (no workflow code) and executed
 * by another shares the trace active at `start()`; step attempts are children of the run's span.
 */
import { context, SpanStatusCode, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { createMemoryWorld } from "@wfkit/world";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Run } from "../api/run.js";
import { harness, registerStep } from "../engine/__tests__/harness.js";
import { Engine } from "../engine/engine.js";
import { contextOf, currentTraceparent } from "./tracing.js";

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const contextManager = new AsyncLocalStorageContextManager();

beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable());
  trace.setGlobalTracerProvider(provider);
});
afterAll(async () => {
  await provider.shutdown();
  trace.disable();
  context.disable();
});

let failures = 0;
registerStep("step//./otel//charge", async (n: number) => {
  if (failures-- > 0) throw Object.assign(new Error("gateway"), { code: "E_GATEWAY" });
  // A span the step body makes nests under the step's span.
  trace.getTracer("app").startSpan("charge.http").end();
  return n * 10;
});

const WORKFLOWS = {
  "workflow//./otel//order": `async function order(n) {
    const [a, b] = await Promise.all([step("step//./otel//charge")(n), step("step//./otel//charge")(n + 1)]);
    return a + b;
  }`,
};

describe("OpenTelemetry", () => {
  it("a run created in one engine and executed by another continues the trace active at start()", async () => {
    exporter.reset();
    failures = 1;
    const world = createMemoryWorld();
    const h = harness(WORKFLOWS, { world });
    const starter = new Engine({ world, executeRuns: false, onError: () => {} });
    h.engine.listen();
    const parent = trace.getTracer("app").startSpan("http POST /orders");
    const runId = await context.with(trace.setSpan(context.active(), parent), () =>
      starter.start("workflow//./otel//order", [2]),
    );
    parent.end();
    expect((await world.getRun(runId))?.metadata?.traceparent).toBe(
      `00-${parent.spanContext().traceId}-${parent.spanContext().spanId}-01`,
    );
    expect(await new Run<number>(runId, h.engine).returnValue).toBe(50);
    starter.close();
    h.engine.close();

    const spans = exporter.getFinishedSpans();
    const runs = spans.filter((s) => s.name === "workflow.run");
    const steps = spans.filter((s) => s.name === "workflow.step");
    expect(runs.length).toBeGreaterThanOrEqual(1);
    for (const s of [...runs, ...steps]) expect(s.spanContext().traceId).toBe(parent.spanContext().traceId);
    for (const s of runs) {
      expect(s.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
      expect(s.attributes).toMatchObject({
        "workflow.run_id": runId,
        "workflow.name": "workflow//./otel//order",
      });
    }
    expect(runs.at(-1)!.attributes["workflow.status"]).toBe("completed");
    const runSpanIds = new Set(runs.map((s) => s.spanContext().spanId));
    // Two parallel steps, one of them retried once: three attempts.
    expect(steps).toHaveLength(3);
    for (const s of steps) expect(runSpanIds.has(s.parentSpanContext!.spanId)).toBe(true);
    const failed = steps.filter((s) => s.status.code === SpanStatusCode.ERROR);
    expect(failed).toHaveLength(1);
    expect(failed[0]!.attributes).toMatchObject({
      "workflow.step_attempt": 1,
      "workflow.error_code": "E_GATEWAY",
    });
    expect(failed[0]!.events.map((e) => e.name)).toContain("exception");
    const retried = steps.find(
      (s) =>
        s.attributes["workflow.step_id"] === failed[0]!.attributes["workflow.step_id"] && s !== failed[0],
    );
    expect(retried?.attributes["workflow.step_attempt"]).toBe(2);
    const http = spans.filter((s) => s.name === "charge.http");
    expect(http).toHaveLength(2);
    const okStepIds = new Set(
      steps.filter((s) => s.status.code !== SpanStatusCode.ERROR).map((s) => s.spanContext().spanId),
    );
    for (const s of http) expect(okStepIds.has(s.parentSpanContext!.spanId)).toBe(true);
  });

  it("a failed run's span has status ERROR and the error code", async () => {
    exporter.reset();
    failures = 100;
    const h = harness(WORKFLOWS);
    const run = await h.start("workflow//./otel//order", [1]);
    await run.returnValue.catch(() => {});
    h.engine.close();
    const runSpan = exporter
      .getFinishedSpans()
      .find((s) => s.name === "workflow.run" && s.attributes["workflow.status"] === "failed");
    expect(runSpan?.status.code).toBe(SpanStatusCode.ERROR);
    expect(runSpan?.attributes["workflow.error_code"]).toBe("E_GATEWAY");
    failures = 0;
  });

  it("traceparent round-trips, and a malformed one is the root context", () => {
    const span = trace.getTracer("app").startSpan("x");
    const tp = currentTraceparent(trace.setSpan(context.active(), span))!;
    expect(tp).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(trace.getSpanContext(contextOf(tp))).toMatchObject({
      traceId: span.spanContext().traceId,
      isRemote: true,
    });
    expect(trace.getSpanContext(contextOf("garbage"))).toBeUndefined();
    span.end();
  });
});
