/**
 * A run's state as a State Protocol stream: change events (`insert` / `update`) for the run, its steps, hooks
 * and waits, derived from the event log in log order. The rows are materialised exactly as every world
 * materialises them (`applyEvent` of `@wfkit/world`), and an entity's change is emitted when the event changed
 * what a client sees of it, so the stream is a pure function of the log: any worker, before or after a
 * restart, serves the same messages at the same offsets (offset = the event's seq).
 */
import {
  applyEvent,
  createRunState,
  type HookRecord,
  type RunRecord,
  type RunState,
  type StepRecord,
  TERMINAL_EVENT_TYPES,
  touchedIds,
  type WaitRecord,
  type WorkflowEvent,
} from "@wfkit/world";
import { toJsonValue } from "../../observability/json-value.js";
import { shortNameOf } from "../../observability/names.js";
import { deserialize, deserializeError } from "../../serialization/index.js";

/** Entity types of the run state stream (the `type` of each change message). */
export type RunStateEntity = "run" | "step" | "hook" | "wait";

export interface ChangeMessage {
  type: RunStateEntity;
  key: string;
  value: unknown;
  headers: { operation: "insert" | "update"; timestamp: string; txid: string };
}

/** What a client sees of an error: its class name and message (stacks name server paths, so they stay). */
export interface ErrorView {
  name: string;
  message: string;
}

function decode(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return toJsonValue(deserialize(text));
  } catch (error) {
    return { $type: "Undecodable", message: error instanceof Error ? error.message : String(error) };
  }
}

function decodeError(text: string | undefined): ErrorView | undefined {
  if (text === undefined) return undefined;
  try {
    const error = deserializeError(text);
    return { name: error.name, message: error.message };
  } catch {
    return { name: "Error", message: "(the error could not be decoded)" };
  }
}

/** The fields a run shows everywhere: in its own state stream and as a row of the runs list. */
export function runSummary(run: RunRecord) {
  return {
    runId: run.runId,
    workflowName: run.workflowName,
    name: shortNameOf(run.workflowName),
    status: run.status,
    createdAt: run.createdAt,
    startedAt: run.startedAt,
    completedAt: run.completedAt,
  };
}

function runView(run: RunRecord) {
  return {
    ...runSummary(run),
    output: run.status === "completed" ? decode(run.output) : undefined,
    error: run.status === "failed" ? decodeError(run.error) : undefined,
    cancelReason: run.cancelReason,
  };
}

function stepView(step: StepRecord) {
  return {
    stepId: step.stepId,
    stepName: step.stepName,
    name: shortNameOf(step.stepName),
    status: step.status,
    attempt: step.attempt,
    createdAt: step.createdAt,
    startedAt: step.startedAt,
    completedAt: step.completedAt,
    retryAt: step.retryAt,
    output: step.status === "completed" ? decode(step.output) : undefined,
    error: step.error === undefined ? undefined : decodeError(step.error),
  };
}

/** Hook tokens are left out: a token resumes the hook, and a read token grants reading only. */
function hookView(hook: HookRecord, received: number) {
  return {
    hookId: hook.hookId,
    kind: hook.kind,
    status: hook.status,
    createdAt: hook.createdAt,
    disposedAt: hook.disposedAt,
    received,
  };
}

function waitView(wait: WaitRecord) {
  return {
    waitId: wait.waitId,
    status: wait.status,
    resumeAt: wait.resumeAt,
    createdAt: wait.createdAt,
    completedAt: wait.completedAt,
  };
}

/** Turns a run's events, fed in log order, into change messages per event. */
export class RunStateDeriver {
  private state: RunState | undefined;
  private readonly emitted = new Map<string, string>();
  private readonly received = new Map<string, number>();
  lastSeq = 0;

  /** The change messages (as JSON texts) that event `e` (the next in the log) causes; often none. */
  next(e: WorkflowEvent): string[] {
    if (e.seq !== this.lastSeq + 1) {
      throw new Error(`run state of ${e.runId}: expected event seq ${this.lastSeq + 1}, got ${e.seq}`);
    }
    this.lastSeq = e.seq;
    const touched = new Set<string>();
    if (!this.state) {
      this.state = createRunState(e);
    } else {
      applyEvent(this.state, e);
      for (const id of touchedIds([e])) touched.add(id);
      // The run's end disposes every live hook.
      if (TERMINAL_EVENT_TYPES.has(e.type)) for (const id of this.state.hooks.keys()) touched.add(id);
      if (e.type === "hook_received" && e.correlationId) {
        this.received.set(e.correlationId, (this.received.get(e.correlationId) ?? 0) + 1);
      }
    }
    const state = this.state;
    const out: string[] = [];
    const meta = { timestamp: new Date(e.createdAt).toISOString(), txid: String(e.seq) };
    const emit = (type: RunStateEntity, key: string, value: unknown) => {
      const json = JSON.stringify(value);
      const id = `${type}\u0000${key}`;
      const before = this.emitted.get(id);
      if (before === json) return;
      this.emitted.set(id, json);
      const message: ChangeMessage = {
        type,
        key,
        value,
        headers: { operation: before === undefined ? "insert" : "update", ...meta },
      };
      out.push(JSON.stringify(message));
    };
    emit("run", state.run.runId, runView(state.run));
    for (const id of touched) {
      const step = state.steps.get(id);
      if (step) emit("step", id, stepView(step));
      const hook = state.hooks.get(id);
      if (hook) emit("hook", id, hookView(hook, this.received.get(id) ?? 0));
      const wait = state.waits.get(id);
      if (wait) emit("wait", id, waitView(wait));
    }
    return out;
  }

  get status(): RunRecord["status"] | undefined {
    return this.state?.run.status;
  }
}
