/**
 * The in-process world: everything in plain objects, nothing survives the process. It is the reference
 * implementation of the contract in `types.ts` (the conformance suite runs on it first), what the
 * engine's unit tests use, and the base of the `workflow/testing` harness.
 *
 * Every method does its work synchronously before its promise settles, so an append is atomic by
 * construction (JavaScript runs one call at a time) and subscribers hear about it before `append` returns.
 */
import { checkDelivery, DeliveryBook } from "./deliveries.js";
import { AppendConflictError, LeaseLostError, RunFinishedError, RunNotFoundError } from "./errors.js";
import {
  type FlowGateRecord,
  type FlowGateUpdate,
  type FlowGateWorld,
  MemoryFlowGates,
} from "./flow-gates.js";
import { newRunId } from "./ids.js";
import {
  applyEvents,
  checkAppendable,
  checkBatchShape,
  checkHookTokens,
  createRunState,
  isTerminalStatus,
  type RunState,
  stampEvents,
} from "./materialize.js";
import { Notifier } from "./notifier.js";
import { RunIndex } from "./run-index.js";
import { hooksWithPrefix, MemorySchedules, StoredSchedules } from "./schedules.js";
import { MemoryStepTasks } from "./step-tasks.js";
import { MemoryStreams } from "./streams.js";
import type {
  AbandonedRun,
  AppendOptions,
  AppendResult,
  ClaimedStepTask,
  CreateRunInput,
  Delivery,
  DeliveryRun,
  DueRun,
  HookRecord,
  Lease,
  ListRunsQuery,
  NewDelivery,
  NewEvent,
  Page,
  RunNotification,
  RunRecord,
  StepRecord,
  StepTask,
  StepTaskNotification,
  StepTaskOutcome,
  StepTaskRecord,
  StreamInfo,
  StreamPage,
  WaitRecord,
  WorkflowEvent,
  World,
} from "./types.js";

export interface MemoryWorldOptions {
  /** Clock for event timestamps and lease expiry (tests pass a fake one). Default `Date.now`. */
  now?: () => number;
  /**
   * Give the world the optional step task methods (`offerStepTasks`…), so that several engines on this one world
   * fan a run's steps out to each other, as workers on Postgres do. Default false: in one process there is
   * nobody to fan out to, and without them every step runs inline in the run's executor.
   */
  stepTasks?: boolean;
}

interface LeaseSlot {
  owner: string;
  token: number;
  expiresAt: number;
  held: boolean;
}

interface MemoryRun {
  state: RunState;
  events: WorkflowEvent[];
}

export function createMemoryWorld(options: MemoryWorldOptions = {}): World {
  const now = options.now ?? Date.now;
  return options.stepTasks ? new MemoryWorldWithStepTasks(now) : new MemoryWorld(now);
}

class MemoryWorld extends StoredSchedules implements World, FlowGateWorld {
  readonly name = "memory";
  private readonly index = new RunIndex();
  private readonly logs = new Map<string, WorkflowEvent[]>();
  private readonly leases = new Map<string, LeaseSlot>();
  private readonly notifier = new Notifier();
  private readonly streams = new MemoryStreams();
  private readonly deliveries = new DeliveryBook();
  protected override readonly schedules = new MemorySchedules();
  /** [addition, flow control] Gates of concurrency keys, throttles and debounces (`flow-gates.ts`). */
  private readonly flowGates: MemoryFlowGates;
  /** Used by `MemoryWorldWithStepTasks` only; the plain memory world has no step tasks. */
  protected readonly stepTasks: MemoryStepTasks;
  private closed = false;

  constructor(private readonly now: () => number) {
    super();
    this.flowGates = new MemoryFlowGates(now);
    this.stepTasks = new MemoryStepTasks(
      now,
      (runId) => {
        const state = this.index.get(runId);
        return !state ? "missing" : isTerminalStatus(state.run.status) ? "finished" : "unfinished";
      },
      (runId) => new RunNotFoundError(runId),
    );
  }

  async createRun(input: CreateRunInput): Promise<AppendResult> {
    this.assertOpen();
    const now = this.now();
    const runId = input.runId ?? newRunId(now);
    const existing = this.index.get(runId);
    if (existing) throw new AppendConflictError(runId, 0, existing.run.lastSeq);
    const data: NewEvent & { type: "run_created" } = {
      type: "run_created",
      data: { workflowName: input.workflowName, input: input.input },
    };
    if (input.deploymentId !== undefined) data.data!.deploymentId = input.deploymentId;
    if (input.metadata !== undefined) data.data!.metadata = input.metadata;
    const events = stampEvents(runId, 0, [data], now).map(freezeEvent);
    const state = createRunState(events[0]!);
    this.index.add(state);
    this.logs.set(runId, events);
    const lease = input.lease && this.takeLease(runId, input.lease.owner, input.lease.ttlMs);
    const result = { events: [...events], run: { ...state.run }, ...(lease ? { lease } : {}) };
    this.notify(state, "created");
    return result;
  }

  async append(
    runId: string,
    expectedSeq: number,
    events: NewEvent[],
    opts?: AppendOptions,
  ): Promise<AppendResult> {
    this.assertOpen();
    const run = this.run(runId);
    const { state } = run;
    checkBatchShape(runId, events, false);
    if (opts?.lease) this.assertLeaseHeld(runId, opts.lease);
    checkAppendable(runId, state.run.status, events);
    if (expectedSeq !== state.run.lastSeq)
      throw new AppendConflictError(runId, expectedSeq, state.run.lastSeq);
    checkHookTokens(runId, events, (token) => this.index.tokenHolder(token));

    const stamped = stampEvents(runId, state.run.lastSeq, events, this.now()).map(freezeEvent);
    for (const e of stamped) run.events.push(e);
    const effects = applyEvents(state, stamped);
    this.index.applied(state, effects);
    if (effects.finished) this.deliveries.forget(runId);
    else this.deliveries.consume(runId, stamped);
    const result = { events: stamped, run: { ...state.run } };
    this.notify(state, effects.finished ? "finished" : "appended");
    return result;
  }

  async readEvents(
    runId: string,
    opts: { afterSeq?: number; limit?: number } = {},
  ): Promise<WorkflowEvent[]> {
    this.assertOpen();
    const { events } = this.run(runId);
    const start = Math.max(0, opts.afterSeq ?? 0); // seq n sits at index n - 1
    const end = opts.limit === undefined ? events.length : start + Math.max(0, opts.limit);
    return events.slice(start, end);
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    this.assertOpen();
    const state = this.index.get(runId);
    return state && { ...state.run };
  }

  async listRuns(query?: ListRunsQuery): Promise<Page<RunRecord>> {
    this.assertOpen();
    return this.index.list(query);
  }

  async listSteps(runId: string): Promise<StepRecord[]> {
    this.assertOpen();
    return [...this.run(runId).state.steps.values()].map((s) => ({ ...s }));
  }

  async getStep(runId: string, stepId: string): Promise<StepRecord | undefined> {
    this.assertOpen();
    const step = this.index.get(runId)?.steps.get(stepId);
    return step && { ...step };
  }

  async listWaits(runId: string): Promise<WaitRecord[]> {
    this.assertOpen();
    return [...this.run(runId).state.waits.values()].map((w) => ({ ...w }));
  }

  async listHooks(runId: string): Promise<HookRecord[]> {
    this.assertOpen();
    return [...this.run(runId).state.hooks.values()].map((h) => ({ ...h }));
  }

  async getHookByToken(token: string): Promise<HookRecord | undefined> {
    this.assertOpen();
    const holder = this.index.tokenHolder(token);
    const hook = holder && this.index.get(holder.runId)?.hooks.get(holder.hookId);
    return hook && { ...hook };
  }

  async acquireLease(runId: string, owner: string, ttlMs: number): Promise<Lease | undefined> {
    this.assertOpen();
    this.run(runId);
    return this.takeLease(runId, owner, ttlMs);
  }

  private takeLease(runId: string, owner: string, ttlMs: number): Lease | undefined {
    const now = this.now();
    const slot = this.leases.get(runId);
    if (slot?.held && slot.expiresAt > now) {
      if (slot.owner !== owner) return undefined;
      slot.expiresAt = now + ttlMs;
      return leaseOf(runId, slot);
    }
    const next: LeaseSlot = { owner, token: (slot?.token ?? 0) + 1, expiresAt: now + ttlMs, held: true };
    this.leases.set(runId, next);
    return leaseOf(runId, next);
  }

  async renewLease(lease: Lease, ttlMs: number): Promise<Lease | undefined> {
    this.assertOpen();
    const slot = this.leases.get(lease.runId);
    if (!slot?.held || slot.owner !== lease.owner || slot.token !== lease.token) return undefined;
    slot.expiresAt = this.now() + ttlMs;
    return leaseOf(lease.runId, slot);
  }

  async releaseLease(lease: Lease): Promise<void> {
    this.assertOpen();
    const slot = this.leases.get(lease.runId);
    if (slot?.held && slot.owner === lease.owner && slot.token === lease.token) slot.held = false;
  }

  async listDue(now: number, limit?: number): Promise<DueRun[]> {
    this.assertOpen();
    return this.index.listDue(now, limit);
  }

  async nextWakeAt(): Promise<number | undefined> {
    this.assertOpen();
    return this.index.nextWakeAt();
  }

  async listAbandoned(now: number, limit = 100): Promise<AbandonedRun[]> {
    this.assertOpen();
    const out: AbandonedRun[] = [];
    for (const [runId, slot] of this.leases) {
      if (!slot.held || slot.expiresAt > now) continue;
      const state = this.index.get(runId);
      if (state && !isTerminalStatus(state.run.status)) out.push({ runId, expiredAt: slot.expiresAt });
    }
    out.sort((a, b) => a.expiredAt - b.expiredAt || (a.runId < b.runId ? -1 : 1));
    return out.slice(0, Math.max(0, limit));
  }

  async listUnfinished(limit?: number, cursor?: string): Promise<Page<RunRecord>> {
    this.assertOpen();
    return this.index.list({ status: ["pending", "running"], limit, cursor });
  }

  async deliver(runId: string, delivery: NewDelivery): Promise<{ delivery: Delivery; duplicate: boolean }> {
    this.assertOpen();
    checkDelivery(runId, delivery);
    const { state } = this.run(runId);
    if (isTerminalStatus(state.run.status)) throw new RunFinishedError(runId, state.run.status);
    const recorded = this.deliveries.record({
      runId,
      deliveryId: delivery.deliveryId,
      event: {
        type: "hook_received",
        correlationId: delivery.event.correlationId,
        data: { payload: delivery.event.data.payload },
      },
      createdAt: this.now(),
    });
    if (!recorded.duplicate) this.notify(state, "delivered");
    return recorded;
  }

  async listDeliveries(runId: string): Promise<Delivery[]> {
    this.assertOpen();
    this.run(runId);
    return this.deliveries.pending(runId);
  }

  async listDeliveryRuns(before: number, limit?: number): Promise<DeliveryRun[]> {
    this.assertOpen();
    return this.deliveries.dueRuns(before, limit);
  }

  subscribe(listener: (n: RunNotification) => void, runId?: string): () => void {
    return this.notifier.subscribe(listener, runId);
  }

  async writeStream(
    runId: string,
    name: string,
    chunks: readonly string[],
    opts: { close?: boolean } = {},
  ): Promise<{ nextIndex: number }> {
    this.assertOpen();
    this.run(runId);
    return this.streams.write(runId, name, chunks, opts.close === true);
  }

  async readStream(
    runId: string,
    name: string,
    opts: { startIndex?: number; limit?: number } = {},
  ): Promise<StreamPage> {
    this.assertOpen();
    this.run(runId);
    return this.streams.read(runId, name, opts.startIndex, opts.limit);
  }

  async listStreams(runId: string): Promise<StreamInfo[]> {
    this.assertOpen();
    this.run(runId);
    return this.streams.list(runId);
  }

  subscribeStream(runId: string, name: string, listener: () => void): () => void {
    return this.streams.listeners.subscribe(runId, name, listener);
  }

  // ------------------------------------------------------------------ schedules and events [addition]
  // The methods that only ask the store are `StoredSchedules` (schedules.ts), which this class extends.

  /** Pausing stamps `updatedAt` with this world's clock (tests inject one), as everything else here does. */
  protected override scheduleClock(): number {
    return this.now();
  }

  override async listHooksByTokenPrefix(prefix: string, limit?: number): Promise<HookRecord[]> {
    this.assertOpen();
    const hooks: HookRecord[] = [];
    for (const holder of this.index.tokenHoldersWithPrefix(prefix)) {
      const state = this.index.get(holder.runId);
      const hook = state?.hooks.get(holder.hookId);
      if (hook && !isTerminalStatus(state!.run.status)) hooks.push({ ...hook });
    }
    return hooksWithPrefix(hooks, prefix, limit);
  }

  readFlowGate(gateId: string): Promise<FlowGateRecord | undefined> {
    return this.flowGates.readFlowGate(gateId);
  }

  updateFlowGate<T>(gateId: string, update: FlowGateUpdate<T>): Promise<T> {
    return this.flowGates.updateFlowGate(gateId, update);
  }

  listFlowGates(limit?: number): Promise<string[]> {
    return this.flowGates.listFlowGates(limit);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.notifier.clear();
    this.stepTasks.clear();
  }

  private run(runId: string): MemoryRun {
    const state = this.index.get(runId);
    if (!state) throw new RunNotFoundError(runId);
    return { state, events: this.logs.get(runId)! };
  }

  private assertLeaseHeld(runId: string, lease: Lease): void {
    const slot = this.leases.get(runId);
    if (
      lease.runId !== runId ||
      !slot?.held ||
      slot.owner !== lease.owner ||
      slot.token !== lease.token ||
      slot.expiresAt <= this.now()
    ) {
      throw new LeaseLostError(lease.runId, lease.owner);
    }
  }

  private notify(state: RunState, kind: RunNotification["kind"]): void {
    this.notifier.notify({
      runId: state.run.runId,
      lastSeq: state.run.lastSeq,
      status: state.run.status,
      kind,
    });
  }

  protected override assertOpen(): void {
    if (this.closed)
      throw new Error("This memory world was closed; create a new one with createMemoryWorld().");
  }
}

/** The memory world with the optional step task capability (see `MemoryWorldOptions.stepTasks`). */
class MemoryWorldWithStepTasks extends MemoryWorld {
  async offerStepTasks(tasks: readonly StepTask[]): Promise<void> {
    this.assertOpen();
    this.stepTasks.offer(tasks);
  }

  async claimStepTasks(owner: string, ttlMs: number, limit: number): Promise<ClaimedStepTask[]> {
    this.assertOpen();
    return this.stepTasks.claim(owner, ttlMs, limit);
  }

  async renewStepTask(task: ClaimedStepTask, ttlMs: number): Promise<ClaimedStepTask | undefined> {
    this.assertOpen();
    return this.stepTasks.renew(task, ttlMs);
  }

  async completeStepTask(task: ClaimedStepTask, outcome: StepTaskOutcome): Promise<boolean> {
    this.assertOpen();
    return this.stepTasks.complete(task, outcome);
  }

  async listStepTasks(runId: string): Promise<StepTaskRecord[]> {
    this.assertOpen();
    return this.stepTasks.list(runId);
  }

  async removeStepTasks(runId: string, correlationIds?: readonly string[]): Promise<void> {
    this.assertOpen();
    this.stepTasks.remove(runId, correlationIds);
  }

  subscribeStepTasks(listener: (n: StepTaskNotification) => void): () => void {
    return this.stepTasks.subscribe(listener);
  }
}

function leaseOf(runId: string, slot: LeaseSlot): Lease {
  return { runId, owner: slot.owner, token: slot.token, expiresAt: slot.expiresAt };
}

/** Stored events are shared with every reader, so they are frozen rather than copied on each read. */
function freezeEvent(e: WorkflowEvent): WorkflowEvent {
  if (e.data && typeof e.data === "object") Object.freeze(e.data);
  return Object.freeze(e);
}
