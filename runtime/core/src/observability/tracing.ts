/**
 * OpenTelemetry spans through `@opentelemetry/api` (no-ops until the app registers an SDK).
 *
 * Design: a run outlives processes, a span cannot move between them. So
 * - `start()` records the trace context active at that moment in the run's `run_created` metadata
 *   (`metadata.traceparent`, W3C format);
 * - every executor that drives the run emits a `workflow.run` span for its *segment* (from taking the run up to
 *   suspending it, ending it or losing it), a child of that recorded context, so all segments of a run, in any
 *   process, share the start() trace;
 * - every step attempt is a `workflow.step` span, a child of the segment span when the executor runs it, or of the
 *   recorded context when another worker runs it as a step task; the step body runs inside it, so its own spans
 *   (fetch, database clients) nest under it.
 * Attributes: `workflow.run_id`, `workflow.name`, `workflow.status` (completed, failed, cancelled, suspended,
 * released), `workflow.step_id`, `workflow.step_name`, `workflow.step_attempt`, `workflow.error_code`; a failure
 * sets status ERROR and records the exception.
 *
 * The traceparent is written from the active span's context rather than with `propagation.inject`: the global
 * propagator is a no-op unless the app registered one, and the run must carry the context either way.
 */
import {
  type Attributes,
  type Context,
  context,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { errorCode } from "./logger.js";

const TRACER_NAME = "wfkit";
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

function tracer(): Tracer {
  return trace.getTracer(TRACER_NAME);
}

/**
 * Whether an SDK is registered: without one every span is a no-op, and work done only for spans (reading a run's
 * recorded context for a step task) is skipped. The API exposes no flag; its proxy's delegate is the no-op class.
 */
export function tracingActive(): boolean {
  const provider = trace.getTracerProvider() as { getDelegate?: () => object };
  const delegate = provider.getDelegate?.() ?? provider;
  return delegate.constructor?.name !== "NoopTracerProvider";
}

/** The active span's context as a W3C `traceparent`, or undefined when no valid span is active. */
export function currentTraceparent(ctx: Context = context.active()): string | undefined {
  const sc = trace.getSpanContext(ctx);
  if (!sc || !trace.isSpanContextValid(sc)) return undefined;
  return `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, "0")}`;
}

/** The context a recorded `traceparent` names (the root context when there is none or it is malformed). */
export function contextOf(traceparent: unknown): Context {
  const m = typeof traceparent === "string" ? TRACEPARENT.exec(traceparent) : null;
  if (!m) return ROOT_CONTEXT;
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: m[1]!,
    spanId: m[2]!,
    traceFlags: Number.parseInt(m[3]!, 16),
    isRemote: true,
  });
}

export function startRunSpan(run: { runId: string; workflowName: string; traceparent?: unknown }): Span {
  return tracer().startSpan(
    "workflow.run",
    {
      kind: SpanKind.INTERNAL,
      attributes: { "workflow.run_id": run.runId, "workflow.name": run.workflowName },
    },
    contextOf(run.traceparent),
  );
}

/** Ends a segment span: `status` is how the segment ended; `error` the run's error when it failed. */
export function endRunSpan(span: Span, status: string, error?: unknown): void {
  span.setAttribute("workflow.status", status);
  if (status === "failed") fail(span, error);
  span.end();
}

export function startStepSpan(
  parent: Span | Context,
  step: { runId: string; stepId: string; stepName: string; attempt: number },
): Span {
  const ctx = isSpan(parent) ? trace.setSpan(ROOT_CONTEXT, parent) : parent;
  const attributes: Attributes = {
    "workflow.run_id": step.runId,
    "workflow.step_id": step.stepId,
    "workflow.step_name": step.stepName,
    "workflow.step_attempt": step.attempt,
  };
  return tracer().startSpan("workflow.step", { kind: SpanKind.INTERNAL, attributes }, ctx);
}

export function endStepSpan(span: Span, ok: boolean, error?: unknown): void {
  if (!ok) fail(span, error);
  span.end();
}

/** Runs `fn` with `span` active, so spans the step body makes are its children. */
export function withSpan<T>(span: Span, fn: () => T): T {
  return context.with(trace.setSpan(context.active(), span), fn);
}

function fail(span: Span, error: unknown): void {
  const code = errorCode(error);
  if (code) span.setAttribute("workflow.error_code", code);
  if (error instanceof Error) span.recordException(error);
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: error instanceof Error ? error.message : error === undefined ? undefined : String(error),
  });
}

function isSpan(value: Span | Context): value is Span {
  return typeof (value as Span).spanContext === "function";
}
