/**
 * The World contract: durable storage for runs (an append-only, numbered event log per run plus rows
 * materialised from it), leases that make one executor at a time drive a run, durable wake-up times,
 * and notification when something happens to a run.
 *
 * Every world (local files, Postgres, Vercel, in-memory) implements this one interface and runs the one
 * conformance suite in `./conformance`. Changes to this file must stay additive: other worlds and the
 * engine are written against it.
 *
 * Values that user code produced (workflow input/output, step args/results, errors, hook payloads) are
 * already serialized by the engine into strings before they reach a world; a world never interprets them.
 */
import type { ScheduleAndEventMethods } from "./schedules.js";

/** `paused` [addition]: an operator paused the run (`run_paused`): it starts no step and fires no wake-up. */
export type RunStatus = "pending" | "running" | "paused" | "completed" | "failed" | "cancelled";
export const TERMINAL_RUN_STATUSES: readonly RunStatus[] = ["completed", "failed", "cancelled"];

export type EventType =
  | "run_created"
  | "run_started"
  | "run_completed"
  | "run_failed"
  | "run_cancelled"
  | "run_retried"
  | "run_paused"
  | "run_resumed"
  | "step_created"
  | "step_started"
  | "step_retrying"
  | "step_completed"
  | "step_failed"
  | "wait_created"
  | "wait_completed"
  | "hook_created"
  | "hook_received"
  | "hook_disposed";

/** Payload carried by each event type. `value`/`error`/`input` fields hold engine-serialized strings. */
export interface EventDataMap {
  run_created: {
    workflowName: string;
    input: string;
    deploymentId?: string;
    metadata?: Record<string, unknown>;
  };
  /**
   * [addition, flow control] `input`: the arguments the run starts with when they differ from `run_created`'s (a
   * debounced run takes the latest start's); the run row's `input` becomes this.
   */
  run_started: { input?: string } | undefined;
  run_completed: { output: string };
  run_failed: { error: string };
  run_cancelled: { reason?: string };
  /**
   * [addition] An operator retried a failed run (`run.retry()`, `wf retry`): the only event a world accepts after
   * `run_failed`. It takes back the events listed in `rescinds` (the `run_failed` and the step failures the run
   * did not survive): replays skip them, so those steps run again with a fresh retry budget while every completed
   * step keeps its result. `steps` are the correlation IDs of the steps re-driven (their rows become `pending`),
   * `hooks` the hooks the failure disposed that become live again (their tokens must still be free, else the append
   * is refused with HookTokenConflictError). The run is `running` again and due at once (`wakeAt`) until an
   * executor records `run_started`.
   */
  /**
   * [addition] An operator paused the run (`run.pause()`): status `paused`, no wake-up is due (`wakeAt` unset, the
   * pending ones kept); steps already running finish and are recorded. Appended by anyone without the lease: it
   * changes nothing workflow code sees, so the executor appends its own batch after it.
   */
  run_paused: { reason?: string };
  /** [addition] The paused run continues (status back to `running`, or `pending` if it never started); due at once. */
  run_resumed: Record<string, never> | undefined;
  run_retried: {
    rescinds: number[];
    steps: string[];
    hooks: { hookId: string; token: string }[];
    reason?: string;
  };
  step_created: { stepName: string; input: string };
  step_started: { attempt: number };
  /** `retryAt` is the durable wake-up for the next attempt (epoch ms). */
  step_retrying: { attempt: number; error: string; retryAt: number };
  step_completed: { output: string };
  step_failed: { error: string };
  /** `resumeAt` is the durable wake-up (epoch ms). */
  wait_created: { resumeAt: number };
  wait_completed: Record<string, never> | undefined;
  hook_created: { token: string; metadata?: string; kind?: "hook" | "webhook"; options?: string };
  /**
   * [addition] `deliveryId`: the delivery (see `World.deliver`) this event consumes. Events the engine appends for
   * payloads handed to the run's executor directly carry one too, so every payload can be traced.
   */
  hook_received: { payload: string; deliveryId?: string };
  /**
   * [addition] `conflictRunId` set: the engine could not create the hook because a live hook of that run holds
   * its token; this event then records the refusal (no `hook_created` precedes it; rows do not change).
   */
  hook_disposed: { conflictRunId?: string } | undefined;
}

/** An event as the engine asks a world to append it. */
export type NewEvent = {
  [K in EventType]: {
    type: K;
    /** The step, wait or hook this event belongs to (deterministic IDs made by the engine). */
    correlationId?: string;
    data?: EventDataMap[K];
    /**
     * Epoch ms the engine wants recorded. The engine sets it so that the time workflow code saw while live
     * is exactly the time it sees on replay; worlds use `Date.now()` when it is absent.
     */
    createdAt?: number;
  };
}[EventType];

/** An event as stored: numbered densely from 1 within its run. */
export type WorkflowEvent = NewEvent & {
  runId: string;
  seq: number;
  /** Epoch ms (the engine's choice, or the world's clock). Workflow code's `Date` reads this during replay. */
  createdAt: number;
};

export interface RunRecord {
  runId: string;
  workflowName: string;
  status: RunStatus;
  /** Serialized arguments. */
  input: string;
  /** Serialized return value, once completed. */
  output?: string;
  /** Serialized error, once failed. */
  error?: string;
  cancelReason?: string;
  deploymentId?: string;
  metadata?: Record<string, unknown>;
  createdAt: number;
  startedAt?: number;
  completedAt?: number;
  updatedAt: number;
  /** Sequence number of the last event in the log (the `expectedSeq` for the next append). */
  lastSeq: number;
  /** Earliest pending durable wake-up of the run (sleep or retry back-off), if any. */
  wakeAt?: number;
  /**
   * [addition] Set when the world quarantined the run: its stored log was found damaged or deleted. The row and
   * `readEvents` hold the readable prefix; leases, appends and deliveries are refused with a `WorldError` of
   * `quarantine.code`; the run is left out of `listUnfinished`, `listDue`, `listAbandoned` and
   * `listDeliveryRuns`, so no engine drives it (re-running recorded work is worse than stopping).
   */
  quarantine?: RunQuarantine;
}

export interface RunQuarantine {
  /** `RUN_LOG_CORRUPT` (damaged), `RUN_LOG_DELETED` (removed under the process), or a world's own code. */
  code: string;
  /** What is wrong and where (file, byte offset), and how to recover. */
  reason: string;
  /** The first seq the readable prefix does not hold. */
  atSeq: number;
}

export type StepStatus = "pending" | "running" | "retrying" | "completed" | "failed";

export interface StepRecord {
  runId: string;
  /** Correlation ID of the step call (unique within the run). */
  stepId: string;
  stepName: string;
  status: StepStatus;
  /** Attempt number of the latest `step_started` (1-based); 0 before the first start. */
  attempt: number;
  input: string;
  output?: string;
  error?: string;
  retryAt?: number;
  createdAt: number;
  startedAt?: number;
  completedAt?: number;
  updatedAt: number;
}

export interface WaitRecord {
  runId: string;
  waitId: string;
  resumeAt: number;
  status: "waiting" | "completed";
  createdAt: number;
  completedAt?: number;
}

export interface HookRecord {
  runId: string;
  hookId: string;
  token: string;
  kind: "hook" | "webhook";
  /** Serialized metadata given to createHook. */
  metadata?: string;
  /** Serialized creation options (e.g. webhook respondWith). */
  options?: string;
  status: "active" | "disposed";
  createdAt: number;
  disposedAt?: number;
}

/** One chunk of a run's output stream, numbered densely from 0 within its stream. */
export interface StreamChunk {
  index: number;
  /** Engine-serialized chunk (binary and object chunks alike). */
  data: string;
}

/** [addition, streams] A stream of a run as `listStreams` describes it. */
export interface StreamInfo {
  name: string;
  /** Chunks stored (the index the next chunk would get). */
  chunks: number;
  closed: boolean;
}

export interface StreamPage {
  /** Chunks with `index >= startIndex`, in order. */
  chunks: StreamChunk[];
  /** The writer closed the stream: no chunk will follow the last one stored. */
  closed: boolean;
}

export interface AppendOptions {
  /**
   * When given, the append is refused with `LeaseLostError` unless this lease is still held (same owner,
   * same fencing token, not expired). This is how a frozen executor that lost its run cannot write.
   */
  lease?: Lease;
}

export interface AppendResult {
  /** The stored events, with their sequence numbers and timestamps. */
  events: WorkflowEvent[];
  /** The run row after the append. */
  run: RunRecord;
  /** [addition] `createRun` only: the lease taken with the run when `CreateRunInput.lease` asked for one. */
  lease?: Lease;
}

export interface CreateRunInput {
  /** Optional caller-chosen ID (the engine makes ULID-like IDs); must be unique. */
  runId?: string;
  workflowName: string;
  input: string;
  deploymentId?: string;
  metadata?: Record<string, unknown>;
  /**
   * [addition] Also take the new run's lease for `owner` (as `acquireLease` would), in the same write where the
   * world can: the process that starts a run usually executes it at once. A world may ignore this and return
   * no `lease`; the caller then calls `acquireLease`.
   */
  lease?: { owner: string; ttlMs: number };
}

export interface Lease {
  runId: string;
  owner: string;
  /** Monotonic per run: each new acquisition gets a larger token (fencing). */
  token: number;
  expiresAt: number;
}

export interface ListRunsQuery {
  status?: RunStatus | RunStatus[];
  workflowName?: string;
  /** Page size, default 50, max 1000. */
  limit?: number;
  /** Opaque cursor from a previous page. */
  cursor?: string;
}

export interface Page<T> {
  items: T[];
  /** Present when more items follow. */
  nextCursor?: string;
}

/** Something happened to a run that an executor or a waiting caller may care about. */
export interface RunNotification {
  runId: string;
  /** Sequence number of the newest event known when the notification was sent. */
  lastSeq: number;
  status: RunStatus;
  /**
   * `created`, `appended`, `finished`: the run's log changed. `delivered` [addition]: an event from outside was
   * recorded for the run (`World.deliver`) and waits for an executor to consume it.
   */
  kind: "created" | "appended" | "finished" | "delivered";
}

/**
 * [addition, deliveries] The events that reach a run from outside it and that its executor consumes: today hook
 * and webhook payloads. (Cancellation ends the run, so it is appended directly and needs no executor.)
 */
export type DeliveredEvent = {
  type: "hook_received";
  /** The hook the payload is for. */
  correlationId: string;
  data: { payload: string };
};

export interface NewDelivery {
  /**
   * Unique within the run, chosen by the caller (the engine makes random ones): recording the same ID again records
   * nothing new, so a caller that lost the answer to `deliver` may simply retry.
   */
  deliveryId: string;
  event: DeliveredEvent;
}

export interface Delivery extends NewDelivery {
  runId: string;
  /** Epoch ms when the world recorded it. */
  createdAt: number;
}

/** A run whose executor died or froze with work in flight: its lease expired without being released. */
export interface AbandonedRun {
  runId: string;
  /** When the lease expired (epoch ms). */
  expiredAt: number;
}

/** A run with pending deliveries, for the sweep that makes sure some executor consumes them. */
export interface DeliveryRun {
  runId: string;
  /** When its oldest pending delivery was recorded (epoch ms). */
  since: number;
}

export interface DueRun {
  runId: string;
  wakeAt: number;
}

/**
 * [addition, step tasks] A step body that a run's executor (the lease holder) offers to any worker instead of
 * running it itself. The executor has already made the attempt's `step_started` durable; the worker that claims
 * the task runs the body and completes the task with the event the executor then appends. Only the executor
 * writes to the run's log.
 */
export interface StepTask {
  runId: string;
  correlationId: string;
  /** The attempt that the log's `step_started` recorded (what `getStepMetadata().attempt` reports). */
  attempt: number;
  stepName: string;
  /** `step_created.data.input`, engine-serialized. */
  input: string;
  /** When the run started (epoch ms), for `getWorkflowMetadata()` inside the step. */
  runStartedAt: number;
  /** When the step's first attempt started (epoch ms), for `getStepMetadata().stepStartedAt`; a world that does
   *  not store it hands out tasks without it, and the worker reports its own start time instead. */
  firstStartedAt?: number;
  /** The run's workflow ID, for `getWorkflowMetadata().workflowName` inside the step (optional, as above). */
  workflowName?: string;
}

/** What a finished step task asks its run's executor to append (engine-serialized values). */
export type StepTaskOutcome =
  | { type: "step_completed"; data: EventDataMap["step_completed"] }
  | { type: "step_retrying"; data: EventDataMap["step_retrying"] }
  | { type: "step_failed"; data: EventDataMap["step_failed"] };

/** A task as a world stores it. One row per (runId, correlationId): a newer attempt replaces an older one. */
export interface StepTaskRecord extends StepTask {
  status: "offered" | "claimed" | "completed";
  /** The current claim (status "claimed" or "completed"): its owner, fencing token and expiry (epoch ms). */
  claim?: { owner: string; token: number; expiresAt: number };
  outcome?: StepTaskOutcome;
}

/** A claimed task: `claim` is what `renewStepTask` and `completeStepTask` must present. */
export interface ClaimedStepTask extends StepTask {
  claim: { owner: string; token: number; expiresAt: number };
}

/**
 * `offered`: there are tasks to claim (claimers try; no task is named, a claim decides who gets what).
 * `completed`: the task of that step and attempt has an outcome. A world may carry the outcome in the
 * notification (when it is small enough for its transport); otherwise the executor reads it (`listStepTasks`).
 */
export type StepTaskNotification =
  | { kind: "offered" }
  | { kind: "completed"; runId: string; correlationId: string; attempt: number; outcome?: StepTaskOutcome };

/**
 * [refinement] Besides the typed errors in `errors.ts`, worlds refuse malformed input with a plain
 * `WorldError` whose `code` names the problem: `INVALID_EVENT` (an empty batch, `run_created` outside
 * `createRun`, a step/wait/hook event without `correlationId`, a run-ending event that is not last in its
 * batch), `INVALID_CURSOR`, `INVALID_QUERY` (page size), `INVALID_RUN_ID` (a world that stores runs under
 * their IDs, e.g. as file names). How rows follow from events (duplicates, run end) is decided once, in
 * `materialize.ts`, for every world.
 */
export interface World extends Partial<ScheduleAndEventMethods> {
  /** Human-readable name: "local", "postgres", "memory", … */
  readonly name: string;

  /**
   * Creates the run and appends `run_created` (seq 1) atomically. A `runId` that already exists is
   * refused with `AppendConflictError` (expectedSeq 0). [refinement]
   */
  createRun(input: CreateRunInput): Promise<AppendResult>;

  /**
   * Appends events after `expectedSeq` (the run's current `lastSeq`) and updates the materialised rows in
   * the same atomic write. Refused with `AppendConflictError` when the log has moved on, with
   * `RunNotFoundError` for an unknown run, with `LeaseLostError` when `opts.lease` is no longer held, and
   * with `HookTokenConflictError` when a `hook_created` names a token that a live hook already holds.
   * Nothing may follow `run_completed`/`run_failed`/`run_cancelled`: such an append is refused with
   * `RunFinishedError`, except one that starts with `run_retried` after `run_failed` (`checkAppendable` decides
   * this for every world).
   */
  append(runId: string, expectedSeq: number, events: NewEvent[], opts?: AppendOptions): Promise<AppendResult>;

  /**
   * Events with `seq > afterSeq` (default 0), in order, at most `limit` (default all).
   * [refinement] `readEvents`, `listSteps`, `listWaits` and `listHooks` of an unknown run are refused with
   * `RunNotFoundError`; `getRun` and `getStep` return undefined.
   */
  readEvents(runId: string, opts?: { afterSeq?: number; limit?: number }): Promise<WorkflowEvent[]>;

  getRun(runId: string): Promise<RunRecord | undefined>;
  listRuns(query?: ListRunsQuery): Promise<Page<RunRecord>>;
  listSteps(runId: string): Promise<StepRecord[]>;
  getStep(runId: string, stepId: string): Promise<StepRecord | undefined>;
  listWaits(runId: string): Promise<WaitRecord[]>;
  listHooks(runId: string): Promise<HookRecord[]>;
  /** The live (not disposed, run not finished) hook holding `token`, if any. */
  getHookByToken(token: string): Promise<HookRecord | undefined>;

  /**
   * Takes the run's lease for `ttlMs` when it is free or expired; returns undefined when another owner
   * holds an unexpired lease. Re-acquiring a lease one already holds renews it (same token).
   * [refinement] An unknown run is refused with `RunNotFoundError`. `renewLease` still succeeds after
   * expiry as long as nobody took or released the lease meanwhile (an append under it does not).
   */
  acquireLease(runId: string, owner: string, ttlMs: number): Promise<Lease | undefined>;
  /** Extends a held lease; undefined when it was lost (expired and taken, or released). */
  renewLease(lease: Lease, ttlMs: number): Promise<Lease | undefined>;
  releaseLease(lease: Lease): Promise<void>;

  /**
   * Runs that are not finished and whose earliest durable wake-up (`wakeAt`) is at or before `now`,
   * earliest first. Wake-ups are derived from `wait_created.resumeAt` (until `wait_completed`) and
   * `step_retrying.retryAt` (until the next `step_started`). [refinement] `limit` defaults to 100.
   */
  listDue(now: number, limit?: number): Promise<DueRun[]>;
  /** Earliest pending wake-up across all unfinished runs, for sleeping until it. */
  nextWakeAt(): Promise<number | undefined>;
  /** Runs in status pending or running (to resume after a restart). */
  listUnfinished(limit?: number, cursor?: string): Promise<Page<RunRecord>>;
  /**
   * [addition] Unfinished runs whose lease expired at or before `now` while still held (neither released nor
   * taken since): their executor died or froze with work in flight, and nothing else (no wake-up, no delivery)
   * may bring them back. Longest expired first, at most `limit` (default 100). A run suspended while waiting
   * releases its lease and a finished run frees it, so neither is listed.
   */
  listAbandoned(now: number, limit?: number): Promise<AbandonedRun[]>;

  /**
   * [addition, deliveries] Records an event from outside the run (a hook payload) WITHOUT the run's lease and
   * without giving it a place in the log. The run's executor consumes it by appending the same event with
   * `data.deliveryId` set, and that append marks the delivery consumed in the same atomic write. So an outside
   * event never races the executor's appends (a refused append would make it drop its live instance and run steps
   * again), and a process that cannot execute the run records it without taking anything.
   *
   * Idempotent by `deliveryId`: recording an ID the run already has (pending or consumed) stores nothing and
   * answers the stored delivery with `duplicate: true`. Refused with `RunNotFoundError` for an unknown run,
   * `RunFinishedError` once the run has ended (nothing would consume it; a delivery racing the end may be
   * recorded and then never consumed), and `WorldError` `INVALID_EVENT` for anything but a `hook_received` with a
   * `correlationId`, or an empty `deliveryId`. Subscribers are notified (`kind: "delivered"`), in other processes
   * too for worlds shared between processes.
   */
  deliver(runId: string, delivery: NewDelivery): Promise<{ delivery: Delivery; duplicate: boolean }>;
  /**
   * [addition, deliveries] The run's pending deliveries (recorded, not consumed by an append), in the order they
   * were recorded. Refused with `RunNotFoundError` for an unknown run; empty for a finished run.
   */
  listDeliveries(runId: string): Promise<Delivery[]>;
  /**
   * [addition, deliveries] Unfinished runs whose oldest pending delivery was recorded at or before `before`, oldest
   * first, at most `limit` (default 100): the safety net for a notification nobody acted on.
   */
  listDeliveryRuns(before: number, limit?: number): Promise<DeliveryRun[]>;

  /**
   * Subscribes to notifications for every run (`runId` undefined) or one run. Notifications for appends
   * made through this world instance arrive synchronously-after-commit; worlds shared between processes
   * also deliver other processes' changes (file watching, LISTEN/NOTIFY, …). Returns an unsubscribe.
   */
  subscribe(listener: (n: RunNotification) => void, runId?: string): () => void;

  /**
   * [addition, streams] A run's durable output streams, named by the engine (`getWritable({ namespace })`, or a
   * generated name for a stream passed between steps). Optional so that a world can add them later; the
   * conformance cases under "streams:" are skipped (with a reason) for a world that has none.
   *
   * Appends `chunks` to the stream (created on first write) in order, numbering them after the chunks it already
   * holds; `close` closes it after them (an empty `chunks` with `close` just closes it). Refused with
   * `RunNotFoundError` for an unknown run and with a `WorldError` of code `STREAM_CLOSED` once it is closed.
   * Writes are allowed after the run has ended (a step's stream may outlive the step's result). Resolves with
   * the index the next chunk would get.
   */
  writeStream?(
    runId: string,
    name: string,
    chunks: readonly string[],
    opts?: { close?: boolean },
  ): Promise<{ nextIndex: number }>;
  /**
   * Chunks from `startIndex` (default 0), at most `limit` (default all). A stream nobody wrote yet reads as
   * empty and open. Refused with `RunNotFoundError` for an unknown run.
   */
  readStream?(
    runId: string,
    name: string,
    opts?: { startIndex?: number; limit?: number },
  ): Promise<StreamPage>;
  /**
   * [addition, streams] The run's streams (every name written to, or closed, at least once), ordered by name, so
   * operators can see what a run wrote without knowing its namespaces. Refused with `RunNotFoundError` for an
   * unknown run. Optional even for worlds with streams; tools fall back to the default stream.
   */
  listStreams?(runId: string): Promise<StreamInfo[]>;
  /**
   * Calls `listener` after chunks are written to (or the stream is closed) through this world instance; worlds
   * shared between processes also report other processes' writes. Readers still re-read after a notification,
   * so a world may notify too often but must not miss a write. Returns an unsubscribe.
   */
  subscribeStream?(runId: string, name: string, listener: () => void): () => void;

  /**
   * [addition, step tasks] A queue of step bodies shared by every process on the world, so that any worker can
   * run any step of a run (`Promise.all` fan-out across machines) while the run's log keeps one writer. Optional
   * as a whole (a world has all seven methods or none); the conformance cases under "step tasks:" are skipped for a
   * world without them, and the engine then runs every step in the executor's process.
   *
   * Offers tasks (one write for the batch). A task is keyed by (runId, correlationId): offering an attempt newer
   * than the stored one replaces it (whatever its state); offering the stored attempt again is a no-op unless its
   * claim has expired, in which case it becomes claimable at once; an older attempt is ignored. Claimers are
   * notified (`offered`). Refused with `RunNotFoundError` for an unknown run.
   */
  offerStepTasks?(tasks: readonly StepTask[]): Promise<void>;
  /**
   * Claims up to `limit` tasks for `owner` for `ttlMs`: offered ones, and claimed ones whose claim expired (their
   * claimer died), oldest offer first, never one that another call holds unexpired; tasks of finished runs are not
   * handed out. Concurrent claimers never get the same task. Each claim gets a new fencing token.
   */
  claimStepTasks?(owner: string, ttlMs: number, limit: number): Promise<ClaimedStepTask[]>;
  /** Extends a claim; undefined once it was lost (another claimer took the task after expiry, or it was replaced). */
  renewStepTask?(task: ClaimedStepTask, ttlMs: number): Promise<ClaimedStepTask | undefined>;
  /**
   * Stores the outcome of a claimed task and notifies (`completed`). Returns false, storing nothing, when the claim
   * no longer holds (taken over after expiry, task replaced by a newer attempt or removed); completing twice with
   * the same claim is true both times. As with `renewStepTask`, an expired claim that nobody took still counts.
   */
  completeStepTask?(task: ClaimedStepTask, outcome: StepTaskOutcome): Promise<boolean>;
  /** The run's stored tasks, in correlation ID order (its executor reads them after a takeover). */
  listStepTasks?(runId: string): Promise<StepTaskRecord[]>;
  /** Removes tasks of a run: the given steps, or all of them (recorded outcomes, a finished run). */
  removeStepTasks?(runId: string, correlationIds?: readonly string[]): Promise<void>;
  /**
   * Calls `listener` for task changes made through this world instance and, for worlds shared between processes,
   * by other processes. A world may drop a notification when its connection drops; users keep a slow sweep.
   */
  subscribeStepTasks?(listener: (n: StepTaskNotification) => void): () => void;

  /** Releases file handles, connections and timers. The world must not be used afterwards. */
  close(): Promise<void>;
}
