/**
 * Materialisation: how run, step, wait and hook rows follow from a run's event log. Every world (memory,
 * local files, Postgres) uses this one module so the rows mean the same thing everywhere; a world only
 * decides where the state lives and how appends are made atomic.
 *
 * The functions are deterministic and do no I/O and read no clock: the same events always give the same
 * rows, so a world can rebuild its rows from the log at any time. `applyEvent` mutates the state it is
 * given instead of copying it, because the cost of an append must not grow with the length of the run.
 *
 * Decisions the event types leave open, recorded here:
 * - A step that has completed or failed keeps its first result: later events for it only touch
 *   `updatedAt` (the engine records a result exactly once; a late duplicate must not overwrite it).
 * - `step.startedAt` is the start of the latest attempt; `step.error` keeps the latest attempt's error
 *   until the step completes.
 * - When a run ends, its active hooks become `disposed` (their tokens are free again) and its pending
 *   wake-ups are dropped; waits and steps keep the status they had.
 * - Events naming a step, wait or hook that was never created are kept in the log but change no row.
 */
import { HookTokenConflictError, RunFinishedError, WorldError } from "./errors.js";
import type {
  EventDataMap,
  EventType,
  HookRecord,
  NewEvent,
  RunRecord,
  RunStatus,
  StepRecord,
  WaitRecord,
  WorkflowEvent,
} from "./types.js";

/**
 * Events an operator appends without the lease that change nothing workflow code sees (pause, resume): an executor
 * whose append they beat simply appends its batch after them, instead of dropping its live instance.
 */
export const TRANSPARENT_EVENT_TYPES: ReadonlySet<EventType> = new Set(["run_paused", "run_resumed"]);

export const TERMINAL_EVENT_TYPES: ReadonlySet<EventType> = new Set([
  "run_completed",
  "run_failed",
  "run_cancelled",
]);

/** The materialised rows of one run. */
export interface RunState {
  run: RunRecord;
  steps: Map<string, StepRecord>;
  waits: Map<string, WaitRecord>;
  hooks: Map<string, HookRecord>;
  /** Pending durable wake-ups by correlation ID (waits until completed, retrying steps until restarted). */
  wakeups: Map<string, number>;
}

/** What an applied batch changed that a world indexes outside the run (tokens, finished runs). */
export interface ApplyEffects {
  /** Hooks that became live (their tokens are now taken). */
  hooksCreated: HookRecord[];
  /** Hooks that stopped being live (disposed, or their run ended): their tokens are free. */
  hooksReleased: HookRecord[];
  /** The batch ended the run. */
  finished: boolean;
  /** The batch retried a failed run (`run_retried`): it is unfinished again. */
  reopened?: boolean;
}

/**
 * The wake-up key that makes a retried or resumed run due until an executor records `run_started` (never a
 * correlation ID), so a sweep picks it up even when the process that retried or resumed it executes nothing.
 */
const PICKUP_WAKEUP = "run";

export function isTerminalStatus(status: RunStatus): boolean {
  return status === "completed" || status === "failed" || status === "cancelled";
}

/**
 * Whether a batch may be appended to a run in `status`: nothing follows a run's end, except a retry
 * (`run_retried` first in the batch) of a failed run. A retry of anything else is refused too.
 */
export function checkAppendable(runId: string, status: RunStatus, events: readonly NewEvent[]): void {
  if (!canAppend(status, events)) {
    const retry = events[0]?.type === "run_retried";
    if (retry && !isTerminalStatus(status)) {
      throw new WorldError("INVALID_EVENT", `Run ${runId} is ${status}; only a failed run can be retried.`);
    }
    throw new RunFinishedError(runId, status);
  }
}

/** `checkAppendable` as a predicate, for worlds that decide by reading (the local world's log records). */
export function canAppend(status: RunStatus, events: readonly Pick<NewEvent, "type">[]): boolean {
  return events[0]?.type === "run_retried" ? status === "failed" : !isTerminalStatus(status);
}

/** Gives new events their run, sequence numbers (dense after `lastSeq`) and timestamps. */
export function stampEvents(
  runId: string,
  lastSeq: number,
  events: NewEvent[],
  now: number,
): WorkflowEvent[] {
  return events.map((e, i) => {
    // Built field by field (no spread + delete, which turns objects into slow dictionaries), and `data` is
    // copied so a world may freeze or keep what it stores without touching the caller's objects.
    const stamped = {
      type: e.type,
      runId,
      seq: lastSeq + 1 + i,
      createdAt: e.createdAt ?? now,
    } as WorkflowEvent;
    if (e.correlationId !== undefined) stamped.correlationId = e.correlationId;
    if (e.data !== undefined) {
      (stamped as { data?: unknown }).data =
        typeof e.data === "object" && e.data !== null ? { ...e.data } : e.data;
    }
    return stamped;
  });
}

const NEEDS_CORRELATION = /^(step|wait|hook)_/;

/**
 * Checks that a batch is well formed on its own, before any world touches storage: thrown errors name
 * the event that was wrong, since it is always an engine bug.
 */
export function checkBatchShape(runId: string, events: NewEvent[], creating: boolean): void {
  if (events.length === 0) {
    throw new WorldError("INVALID_EVENT", `Append to run ${runId} carried no events; append at least one.`);
  }
  events.forEach((e, i) => {
    if (e.type === "run_created" && !(creating && i === 0)) {
      throw new WorldError(
        "INVALID_EVENT",
        `Event #${i} of the append to run ${runId} is "run_created", which only createRun may write (as seq 1).`,
      );
    }
    if (NEEDS_CORRELATION.test(e.type) && !e.correlationId) {
      throw new WorldError(
        "INVALID_EVENT",
        `Event #${i} ("${e.type}") of the append to run ${runId} has no correlationId; ` +
          "step, wait and hook events must name the step, wait or hook they belong to.",
      );
    }
    if (e.type === "run_retried" && i !== 0) {
      throw new WorldError(
        "INVALID_EVENT",
        `Event #${i} of the append to run ${runId} is "run_retried", which must be the first event of its batch.`,
      );
    }
    if (TERMINAL_EVENT_TYPES.has(e.type) && i !== events.length - 1) {
      throw new WorldError(
        "INVALID_EVENT",
        `Event #${i} ("${e.type}") of the append to run ${runId} ends the run but is not the last event of the batch.`,
      );
    }
  });
}

/** Who holds a live hook token. */
export interface TokenHolder {
  runId: string;
  hookId: string;
}

/**
 * Refuses a batch whose `hook_created` events name a token that a live hook holds (another run's, this
 * run's, or one created earlier in the same batch); a hook disposed earlier in the same batch frees its
 * token. Returns the tokens the batch takes, so the world can index them after the write.
 */
export function checkHookTokens(
  runId: string,
  events: readonly NewEvent[],
  liveHolder: (token: string) => TokenHolder | undefined,
): { token: string; hookId: string }[] {
  const disposed = new Set<string>();
  const taken = new Map<string, string>();
  for (const e of events) {
    if (e.type === "run_retried" && e.data) {
      // Hooks a retry brings back take their tokens again: each must still be free (or this run's own).
      for (const { hookId, token } of e.data.hooks) {
        const holder = liveHolder(token);
        if (holder && holder.runId !== runId) throw new HookTokenConflictError(token, holder.runId);
        taken.set(token, hookId);
      }
      continue;
    }
    if (e.type === "hook_disposed" && e.correlationId) {
      disposed.add(e.correlationId);
      for (const [token, hookId] of taken) if (hookId === e.correlationId) taken.delete(token);
    } else if (e.type === "hook_created" && e.data) {
      const { token } = e.data;
      if (taken.has(token)) throw new HookTokenConflictError(token, runId);
      const holder = liveHolder(token);
      if (holder && !(holder.runId === runId && disposed.has(holder.hookId))) {
        throw new HookTokenConflictError(token, holder.runId);
      }
      taken.set(token, e.correlationId ?? "");
    }
  }
  return [...taken].map(([token, hookId]) => ({ token, hookId }));
}

/**
 * The step, wait and hook IDs whose rows a batch may change: the correlation IDs of its events, and the steps
 * and hooks a retry names in its data. Worlds that store rows apart from the log write exactly these.
 */
export function touchedIds(events: readonly NewEvent[]): Set<string> {
  const ids = new Set<string>();
  for (const e of events) {
    if (e.correlationId !== undefined) ids.add(e.correlationId);
    if (e.type === "run_retried" && e.data) {
      for (const id of e.data.steps) ids.add(id);
      for (const h of e.data.hooks) ids.add(h.hookId);
    }
  }
  return ids;
}

/** Builds a run's state from its `run_created` event (seq 1). */
export function createRunState(first: WorkflowEvent): RunState {
  if (first.type !== "run_created" || first.seq !== 1 || !first.data) {
    throw new WorldError(
      "INVALID_EVENT",
      `Run ${first.runId} must begin with a "run_created" event at seq 1 carrying workflowName and input.`,
    );
  }
  const d = first.data as EventDataMap["run_created"];
  const run: RunRecord = {
    runId: first.runId,
    workflowName: d.workflowName,
    status: "pending",
    input: d.input,
    createdAt: first.createdAt,
    updatedAt: first.createdAt,
    lastSeq: 1,
  };
  if (d.deploymentId !== undefined) run.deploymentId = d.deploymentId;
  if (d.metadata !== undefined) run.metadata = d.metadata;
  return { run, steps: new Map(), waits: new Map(), hooks: new Map(), wakeups: new Map() };
}

/** Applies events (already stamped, in order, following `state.run.lastSeq`) to a run's rows. */
export function applyEvents(state: RunState, events: readonly WorkflowEvent[]): ApplyEffects {
  const effects: ApplyEffects = { hooksCreated: [], hooksReleased: [], finished: false };
  for (const e of events) applyEvent(state, e, effects);
  return effects;
}

/** Applies one event; `effects` collects the changes other indexes must follow. */
export function applyEvent(state: RunState, e: WorkflowEvent, effects?: ApplyEffects): void {
  const { run } = state;
  const at = e.createdAt;
  run.lastSeq = e.seq;
  run.updatedAt = at;
  const id = e.correlationId ?? "";
  let wakeupsChanged = false;

  switch (e.type) {
    case "run_created":
      break; // only ever seq 1, handled by createRunState
    case "run_started": {
      const input = (e.data as { input?: unknown } | undefined)?.input;
      if (typeof input === "string") run.input = input;
      if (run.status === "pending") run.status = "running";
      run.startedAt ??= at;
      // An executor took up a retried run: it is no longer due for pickup.
      wakeupsChanged = state.wakeups.delete(PICKUP_WAKEUP);
      break;
    }
    case "run_paused":
      if (run.status === "pending" || run.status === "running") {
        run.status = "paused";
        wakeupsChanged = true;
      }
      break;
    case "run_resumed":
      if (run.status === "paused") {
        run.status = run.startedAt === undefined ? "pending" : "running";
        // Due at once, like a retried run, until an executor records run_started.
        state.wakeups.set(PICKUP_WAKEUP, at);
        wakeupsChanged = true;
      }
      break;
    case "run_retried": {
      if (run.status !== "failed" || !e.data) break; // worlds refuse it (checkAppendable)
      run.status = "running";
      delete run.error;
      delete run.completedAt;
      for (const stepId of e.data.steps) {
        const step = state.steps.get(stepId);
        if (step?.status !== "failed") continue;
        step.status = "pending";
        step.updatedAt = at;
        delete step.completedAt;
      }
      for (const { hookId } of e.data.hooks) {
        const hook = state.hooks.get(hookId);
        if (hook?.status !== "disposed") continue;
        hook.status = "active";
        delete hook.disposedAt;
        effects?.hooksCreated.push(hook);
      }
      // The end dropped the run's pending wake-ups; its sleeps and back-offs are pending again.
      for (const wait of state.waits.values())
        if (wait.status === "waiting") state.wakeups.set(wait.waitId, wait.resumeAt);
      for (const step of state.steps.values()) {
        if (step.status === "retrying" && step.retryAt !== undefined)
          state.wakeups.set(step.stepId, step.retryAt);
      }
      // Due at once: whichever process sweeps for due runs drives it, even when the retrying one cannot.
      state.wakeups.set(PICKUP_WAKEUP, at);
      wakeupsChanged = true;
      if (effects) effects.reopened = true;
      break;
    }
    case "run_completed":
    case "run_failed":
    case "run_cancelled": {
      if (e.type === "run_completed") {
        run.status = "completed";
        if (e.data) run.output = e.data.output;
      } else if (e.type === "run_failed") {
        run.status = "failed";
        if (e.data) run.error = e.data.error;
      } else {
        run.status = "cancelled";
        if (e.data?.reason !== undefined) run.cancelReason = e.data.reason;
      }
      run.completedAt = at;
      for (const hook of state.hooks.values()) {
        if (hook.status === "active") {
          hook.status = "disposed";
          hook.disposedAt = at;
          effects?.hooksReleased.push(hook);
        }
      }
      if (state.wakeups.size > 0) {
        state.wakeups.clear();
        wakeupsChanged = true;
      }
      if (effects) effects.finished = true;
      break;
    }
    case "step_created":
      if (!state.steps.has(id) && e.data) {
        state.steps.set(id, {
          runId: run.runId,
          stepId: id,
          stepName: e.data.stepName,
          status: "pending",
          attempt: 0,
          input: e.data.input,
          createdAt: at,
          updatedAt: at,
        });
      }
      break;
    case "step_started": {
      const step = openStep(state, id, at);
      if (step) {
        step.status = "running";
        step.attempt = e.data?.attempt ?? step.attempt + 1;
        step.startedAt = at;
        delete step.retryAt;
        wakeupsChanged = state.wakeups.delete(id);
      }
      break;
    }
    case "step_retrying": {
      const step = openStep(state, id, at);
      if (step && e.data) {
        step.status = "retrying";
        step.attempt = e.data.attempt;
        step.error = e.data.error;
        step.retryAt = e.data.retryAt;
        if (!isTerminalStatus(run.status)) {
          state.wakeups.set(id, e.data.retryAt);
          wakeupsChanged = true;
        }
      }
      break;
    }
    case "step_completed":
    case "step_failed": {
      const step = openStep(state, id, at);
      if (step) {
        if (e.type === "step_completed") {
          step.status = "completed";
          if (e.data) step.output = e.data.output;
          delete step.error;
        } else {
          step.status = "failed";
          if (e.data) step.error = e.data.error;
        }
        step.completedAt = at;
        delete step.retryAt;
        wakeupsChanged = state.wakeups.delete(id);
      }
      break;
    }
    case "wait_created":
      if (!state.waits.has(id) && e.data) {
        state.waits.set(id, {
          runId: run.runId,
          waitId: id,
          resumeAt: e.data.resumeAt,
          status: "waiting",
          createdAt: at,
        });
        if (!isTerminalStatus(run.status)) {
          state.wakeups.set(id, e.data.resumeAt);
          wakeupsChanged = true;
        }
      }
      break;
    case "wait_completed": {
      const wait = state.waits.get(id);
      if (wait && wait.status === "waiting") {
        wait.status = "completed";
        wait.completedAt = at;
        wakeupsChanged = state.wakeups.delete(id);
      }
      break;
    }
    case "hook_created":
      if (!state.hooks.has(id) && e.data) {
        const hook: HookRecord = {
          runId: run.runId,
          hookId: id,
          token: e.data.token,
          kind: e.data.kind ?? "hook",
          status: isTerminalStatus(run.status) ? "disposed" : "active",
          createdAt: at,
        };
        if (e.data.metadata !== undefined) hook.metadata = e.data.metadata;
        if (e.data.options !== undefined) hook.options = e.data.options;
        state.hooks.set(id, hook);
        if (hook.status === "active") effects?.hooksCreated.push(hook);
      }
      break;
    case "hook_received":
      break; // payloads live in the log only
    case "hook_disposed": {
      const hook = state.hooks.get(id);
      if (hook && hook.status === "active") {
        hook.status = "disposed";
        hook.disposedAt = at;
        effects?.hooksReleased.push(hook);
      }
      break;
    }
  }

  if (wakeupsChanged) recomputeWakeAt(state);
}

/** The step row an event applies to, unless it is unknown or already has its result. */
function openStep(state: RunState, id: string, at: number): StepRecord | undefined {
  const step = state.steps.get(id);
  if (!step) return undefined;
  step.updatedAt = at;
  return step.status === "completed" || step.status === "failed" ? undefined : step;
}

function recomputeWakeAt(state: RunState): void {
  // A paused run is due for nothing; its wake-ups count again once it is resumed.
  if (state.run.status === "paused") {
    delete state.run.wakeAt;
    return;
  }
  let min: number | undefined;
  for (const t of state.wakeups.values()) if (min === undefined || t < min) min = t;
  if (min === undefined) delete state.run.wakeAt;
  else state.run.wakeAt = min;
}

/** Applies a whole log from scratch (seq 1 first). */
export function materialize(events: readonly WorkflowEvent[]): RunState {
  const [first, ...rest] = events;
  if (!first) throw new WorldError("INVALID_EVENT", "Cannot materialise a run from an empty log.");
  const state = createRunState(first);
  applyEvents(state, rest);
  return state;
}
