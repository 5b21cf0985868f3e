/**
 * The live driver of one run in this process: it owns the run's lease while it has work, turns what the
 * workflow code asks for into events, writes them with group commit (one append in flight; whatever happens
 * meanwhile goes into the next one, in the order the sandbox observed it), starts step bodies once their
 * `step_started` is durable, and feeds their results back. Every change to the instance runs through one
 * serial task queue, so the order events are applied live is exactly the order they are logged, and
 * therefore the order a replay applies them in.
 */

import type { Span } from "@opentelemetry/api";
import {
  type Delivery,
  type EventDataMap,
  isWorldError,
  type Lease,
  type NewEvent,
  type StepTask,
  type StepTaskOutcome,
  type StepTaskRecord,
  type StepTaskWorld,
  TRANSPARENT_EVENT_TYPES,
  type World,
} from "@wfkit/world";
import { serializeAsync } from "../serialization/index.js";
import { WorkflowStalledError } from "./engine-errors.js";
import type { FlowSpec } from "./flow-control.js";
import type { AppliedEvent, Operation, WorkflowInstance } from "./instance.js";
import type { RetryOptions } from "./retry-policy.js";
import { recordError, type StepResult, stepOutcome } from "./step-outcome.js";
import type { StreamScope } from "./streams.js";

export { recordError, type StepResult } from "./step-outcome.js";

/** What a live run needs from its engine. */
export interface EngineContext {
  readonly retry: RetryOptions;
  world(): Promise<World>;
  now(): number;
  runStep(instance: WorkflowInstance, op: Operation, signal?: AbortSignal): Promise<StepResult>;
  onAppended(count: number): void;
  /** Where streams in values leaving host code of this run go (a step's result may hold a ReadableStream). */
  streamScope(runId: string): StreamScope;
  /** Arms (or clears, with undefined) the run's durable wake-up timer in this process. */
  scheduleWake(runId: string, at: number | undefined): void;
  /** The run became idle (only wake-ups pending): its lease was released, it may stay cached. */
  suspended(live: LiveRun): void;
  /** The run ended, or this process lost it: forget the instance. */
  dropped(live: LiveRun, redriveAfterMs?: number): void;
  reportError(runId: string, error: unknown): void;
  /** The world's step tasks when it has them (known once the world is open), for offering and takeover. */
  taskWorld(): StepTaskWorld | undefined;
  /** Whether the step about to start should be offered to any worker rather than run in this process. */
  shouldOffer(live: LiveRun): boolean;
  onOffered(count: number): void;
  /** The run's end is committed: a child tells its parent, a parent closes its children (engine.ts). */
  runEnded(runId: string): void;
}

const TERMINAL = new Set(["run_completed", "run_failed", "run_cancelled"]);
const TERMINAL_STATUSES = new Set(["completed", "failed", "cancelled"]);

export class LiveRun {
  readonly runId: string;
  lease: Lease | undefined;
  /** Seq of the newest event of the log this instance has applied and that is stored. */
  committedSeq: number;
  /** No further step starts (cancellation requested). */
  stopping = false;
  /** Ended or lost: ignore everything still in flight. */
  detached = false;
  /** Holds one of the engine's active-run slots (from activation until suspension or the end). */
  holdsSlot = false;
  /** [flow control] What the run is subject to (`run_created` metadata), and the arguments a debounce chose for it. */
  flow: FlowSpec | undefined;
  startInput: string | undefined;
  /** The lease release in flight after suspension; a new drive waits for it. */
  releasing: Promise<void> | undefined;
  /** The trace context `start()` recorded for the run, and this process's span of its current segment. */
  traceparent: unknown;
  segment: Span | undefined;
  /** How the run ended in this process: its terminal event once committed, or the reason `finish` was given. */
  endedWith: AppliedEvent | undefined;
  finishReason: unknown;
  private outbox: AppliedEvent[] = [];
  private appending = false;
  /** An append is in flight (its answer tells whether the lease still holds). */
  get appendInFlight(): boolean {
    return this.appending;
  }
  private pendingTasks = 0;
  private chain: Promise<void> = Promise.resolve();
  private terminalEmitted = false;
  /** Step correlation IDs whose bodies run in this process now. */
  readonly running = new Set<string>();
  /** Steps offered as step tasks whose outcome this run waits for: correlation ID → attempt. */
  readonly remote = new Map<string, number>();
  /** Some step of this run went through the world's task queue (its rows are removed when the run ends). */
  private usedTasks = false;
  /** Outcome events that came from step tasks, until committed: then their task rows are removed. */
  private readonly fromTasks = new Set<AppliedEvent>();
  /** A read of the run's tasks is queued and has not started yet. */
  private pollQueued = false;
  /** Outside events (hook payloads) handed to this run, until the append holding them commits (or fails). */
  private deliveries: { event: AppliedEvent | undefined; done(stored: boolean): void }[] = [];
  /** Delivery IDs of `hook_received` events emitted here and not yet committed. */
  private readonly unstoredDeliveries = new Set<string>();
  /** The abort controller behind each running body's `getStepMetadata().signal`. */
  private readonly controllers = new Map<string, AbortController>();

  constructor(
    private readonly ctx: EngineContext,
    readonly instance: WorkflowInstance,
    committedSeq: number,
  ) {
    this.runId = instance.runId;
    this.committedSeq = committedSeq;
  }

  get active(): boolean {
    return this.lease !== undefined;
  }

  /** Nothing is waiting to be written: the instance is exactly what the log holds (queries read it then). */
  get idleAtHead(): boolean {
    return this.outbox.length === 0 && !this.appending && this.pendingTasks === 0;
  }

  /** No step may start: the run is being cancelled, or an operator paused it. */
  private get halted(): boolean {
    return this.stopping || this.instance.paused;
  }

  activate(lease: Lease): void {
    this.lease = lease;
    this.releasing = undefined;
  }

  /** Runs `task` after every earlier task; then records what the workflow asked for and writes it. */
  /** Queues a task on the run's serial queue; the promise settles once it ran (or was skipped: detached). */
  enqueue(task: () => Promise<void> | void): Promise<void> {
    this.pendingTasks++;
    this.chain = this.chain
      .then(async () => {
        if (this.detached) return;
        await task();
        if (!this.detached) await this.progress();
      })
      .catch((error) => this.failRun(error))
      .finally(() => {
        this.pendingTasks--;
        void this.flush();
      });
    return this.chain;
  }

  /**
   * An event from outside the run (a hook payload) while this process drives it: written through this run's own
   * group commit, so the live instance sees it in exactly the position the log records. Resolves true once it is
   * durable, false when this instance could not take it (it ended or was lost meanwhile): the caller then
   * appends it to the world itself.
   */
  deliver(event: NewEvent): Promise<boolean> {
    return new Promise((resolve) => {
      const delivery: (typeof this.deliveries)[number] = { event: undefined, done: resolve };
      this.deliveries.push(delivery);
      this.enqueue(async () => {
        if (this.instance.terminal || this.terminalEmitted) return this.settleDelivery(delivery, false);
        delivery.event = await this.emit(event);
      });
    });
  }

  private settleDelivery(delivery: (typeof this.deliveries)[number], stored: boolean): void {
    const at = this.deliveries.indexOf(delivery);
    if (at >= 0) this.deliveries.splice(at, 1);
    delivery.done(stored);
  }

  /** After a commit, or once the instance is gone: tell waiting deliveries whether their event is stored. */
  private settleDeliveries(batch: readonly AppliedEvent[] | undefined): void {
    for (const delivery of [...this.deliveries]) {
      if (!batch) this.settleDelivery(delivery, false);
      else if (delivery.event && batch.includes(delivery.event)) this.settleDelivery(delivery, true);
    }
  }

  /**
   * Applies stored events (they are already in the log, so nothing is written for them). `silent` when the
   * code already ran through them in some process (a replay into a fresh sandbox): its logs are dropped.
   */
  async replay(events: readonly AppliedEvent[], silent: boolean): Promise<void> {
    this.instance.replaying = silent;
    this.instance.preload(events);
    try {
      for (const event of events) await this.instance.apply(event);
    } finally {
      this.instance.replaying = false;
    }
  }

  /** After activation: restart interrupted steps and act on due wake-ups; record `run_started` once. */
  async resume(): Promise<void> {
    if (this.instance.terminal) {
      this.finish();
      return;
    }
    if (!this.instance.runStartedLogged) {
      // A debounced run records the arguments it starts with (the latest of its burst): replays use them.
      await this.emit(
        this.startInput === undefined
          ? { type: "run_started" }
          : { type: "run_started", data: { input: this.startInput } },
      );
    }
    if (!this.halted && !this.instance.outcome) {
      // Logged, not running here, not waiting for a back-off: its body was interrupted (crash, lost lease)
      // before its result was recorded, or it was offered as a step task.
      const interrupted = [...this.instance.ops.values()].filter(
        (op) =>
          op.kind === "step" &&
          op.logged &&
          op.retryAt === undefined &&
          !this.running.has(op.cid) &&
          !this.remote.has(op.cid),
      );
      const tasks = interrupted.length > 0 ? await this.storedTasks() : undefined;
      // Rows the previous executor left (it died before deleting them) go when this run ends.
      if (tasks && tasks.size > 0) this.usedTasks = true;
      const adopted: StepTask[] = [];
      for (const op of interrupted) {
        const task = tasks?.get(op.cid);
        if (task && task.attempt === op.attempt && op.attempt > 0) {
          // A task of this very attempt: use its outcome, or keep waiting for whoever runs it (re-offered below
          // in case its claimer died), rather than spend another attempt.
          if (task.status === "completed") await this.applyOutcome(op, op.attempt, task.outcome!);
          else {
            this.remote.set(op.cid, op.attempt);
            adopted.push(this.taskOf(op));
          }
          continue;
        }
        // Running it again is the at-least-once guarantee; a crash consumes an attempt.
        await this.emit({ type: "step_started", correlationId: op.cid, data: { attempt: op.attempt + 1 } });
      }
      if (adopted.length > 0) void this.offer(adopted);
    }
    await this.processDue();
  }

  /**
   * The safety net behind a child's own report of its end (which a crash right after the child's last append can
   * lose): children that ended while this run waits for them have their outcome delivered here, under the same
   * delivery ID the child uses, so it is applied once whoever delivers first.
   */
  private async collectEndedChildren(): Promise<void> {
    const pending = this.instance.pendingChildren();
    if (pending.length === 0 || this.instance.terminal) return;
    const world = await this.ctx.world();
    for (const child of pending) {
      try {
        const run = await world.getRun(child.runId);
        if (!run || !TERMINAL_STATUSES.has(run.status)) continue;
        this.ctx.runEnded(child.runId);
      } catch (error) {
        this.ctx.reportError(this.runId, error);
      }
    }
  }

  /**
   * Appends the deliveries other processes recorded for this run (hook payloads, `World.deliver`), each once and in
   * the order recorded: the append consumes them. Only a run that has created a hook can have any, so runs without
   * hooks pay no read.
   */
  async consumeDeliveries(): Promise<void> {
    if (!this.instance.hadHooks || this.instance.terminal || this.terminalEmitted) return;
    let pending: Delivery[];
    try {
      pending = await (await this.ctx.world()).listDeliveries(this.runId);
    } catch (error) {
      // The next drive or sweep reads them again; a passing storage error must not fail the run.
      this.ctx.reportError(this.runId, error);
      return;
    }
    for (const delivery of pending) {
      if (this.instance.terminal || this.terminalEmitted) return;
      // Being written by this run already. One the log holds already (recorded through this process's fast path,
      // or twice by two reporters) is appended again all the same: that consumes it, and the instance ignores the
      // repeat.
      if (this.unstoredDeliveries.has(delivery.deliveryId)) continue;
      const { correlationId, data } = delivery.event;
      await this.emit({
        type: "hook_received",
        correlationId,
        data: { payload: data.payload, deliveryId: delivery.deliveryId },
      });
    }
  }

  /** Consumes pending deliveries, completes due sleeps and starts due retries (none of that while paused). */
  async processDue(): Promise<void> {
    await this.collectEndedChildren();
    await this.consumeDeliveries();
    if (this.instance.paused) return;
    const now = this.ctx.now();
    const due = [...this.instance.ops.values()]
      .filter(
        (op) =>
          op.logged &&
          (op.kind === "wait" ? op.resumeAt! <= now : op.retryAt !== undefined && op.retryAt <= now),
      )
      .sort((a, b) => (a.resumeAt ?? a.retryAt!) - (b.resumeAt ?? b.retryAt!));
    for (const op of due) {
      if (this.instance.terminal) return;
      if (op.kind === "wait") await this.emit({ type: "wait_completed", correlationId: op.cid });
      else if (!this.stopping) {
        await this.emit({ type: "step_started", correlationId: op.cid, data: { attempt: op.attempt + 1 } });
      }
    }
  }

  /** A step body finished (in this process). */
  async onStepResult(op: Operation, attempt: number, result: StepResult): Promise<void> {
    this.running.delete(op.cid);
    this.controllers.delete(op.cid);
    // The run ended meanwhile, or the result is a duplicate: the first recorded result wins.
    if (this.instance.terminal || this.instance.ops.get(op.cid) !== op || op.attempt !== attempt) return;
    const outcome = await stepOutcome(
      this.ctx,
      { runId: this.runId, stepName: op.name, attempt, attemptBase: op.attemptBase },
      result,
    );
    await this.emit({ ...outcome, correlationId: op.cid } as NewEvent);
  }

  /** Records the outcome of a step task, unless the run or the step moved on since that attempt started. */
  private async applyOutcome(op: Operation, attempt: number, outcome: StepTaskOutcome): Promise<void> {
    if (this.instance.terminal || this.terminalEmitted) return;
    if (this.instance.ops.get(op.cid) !== op || op.attempt !== attempt) return;
    this.fromTasks.add(await this.emit({ ...outcome, correlationId: op.cid } as NewEvent));
  }

  /**
   * The world reports an outcome of a step task: if this run waits for that attempt, record it (read from the
   * world when the notification did not carry it).
   */
  remoteCompleted(cid: string, attempt: number, outcome?: StepTaskOutcome): void {
    if (this.detached || this.remote.get(cid) !== attempt) return;
    if (!outcome) {
      this.pollTasks(false);
      return;
    }
    this.enqueue(async () => {
      if (this.remote.get(cid) !== attempt) return;
      this.remote.delete(cid);
      const op = this.instance.ops.get(cid);
      if (op) await this.applyOutcome(op, attempt, outcome);
    });
  }

  /**
   * Reads the run's step tasks (one read for however many completed meanwhile) and records the outcomes this run
   * waits for. With `reoffer` (the lease renewal tick, a safety net for lost notifications and dead claimers),
   * also offers again the awaited tasks whose claim expired or whose row is gone.
   */
  pollTasks(reoffer: boolean): void {
    if (this.pollQueued || this.detached || this.remote.size === 0) return;
    this.pollQueued = true;
    this.enqueue(async () => {
      this.pollQueued = false;
      if (this.remote.size === 0) return;
      const tasks = await this.storedTasks();
      if (!tasks) return;
      const again: StepTask[] = [];
      for (const [cid, attempt] of [...this.remote]) {
        const op = this.instance.ops.get(cid);
        const task = tasks?.get(cid);
        if (!op || op.attempt !== attempt) {
          this.remote.delete(cid);
        } else if (task?.attempt === attempt && task.status === "completed") {
          this.remote.delete(cid);
          await this.applyOutcome(op, attempt, task.outcome!);
        } else if (
          reoffer &&
          (!task ||
            task.attempt !== attempt ||
            (task.status === "claimed" && task.claim!.expiresAt <= this.ctx.now()))
        ) {
          again.push(this.taskOf(op));
        }
      }
      if (again.length > 0) void this.offer(again);
    });
  }

  /**
   * The run's stored step tasks by correlation ID; undefined when the world has none or could not be read (the
   * caller then falls back: a takeover reruns interrupted steps, a poll tries again at the next tick), so that a
   * passing storage error never fails the run.
   */
  private async storedTasks(): Promise<Map<string, StepTaskRecord> | undefined> {
    const world = this.ctx.taskWorld();
    if (!world) return undefined;
    try {
      const tasks = await world.listStepTasks(this.runId);
      return new Map(tasks.map((t) => [t.correlationId, t]));
    } catch (error) {
      this.ctx.reportError(this.runId, error);
      return undefined;
    }
  }

  private taskOf(op: Operation): StepTask {
    return {
      runId: this.runId,
      correlationId: op.cid,
      attempt: op.attempt,
      stepName: op.name,
      input: op.input!,
      runStartedAt: this.instance.startedAt,
      firstStartedAt: op.firstStartedAt,
      workflowName: this.instance.workflowName,
    };
  }

  /** Offers steps (already in `remote`) to any worker; when the world refuses, they run here after all. */
  private async offer(tasks: StepTask[]): Promise<void> {
    this.usedTasks = true;
    this.ctx.onOffered(tasks.length);
    try {
      await this.ctx.taskWorld()!.offerStepTasks(tasks);
    } catch (error) {
      if (this.detached) return;
      this.ctx.reportError(this.runId, error);
      for (const task of tasks) {
        if (this.remote.get(task.correlationId) !== task.attempt) continue;
        this.remote.delete(task.correlationId);
        this.startStep(task.correlationId, task.attempt);
      }
    }
  }

  /** Records what the code asked for since the last task, and the run's end once the code has settled. */
  private async progress(): Promise<void> {
    const instance = this.instance;
    if (instance.terminal || this.terminalEmitted) return;
    // One at a time from the head: recording a refused hook lets the code run on and request more.
    for (let op = instance.unlogged()[0]; op && !instance.terminal; op = instance.unlogged()[0]) {
      if (op.kind === "step") {
        await this.emit({
          type: "step_created",
          correlationId: op.cid,
          data: { stepName: op.name, input: op.input! },
        });
        // A workflow that has already returned will never read this step's result: record it, don't run it. A
        // paused run records the step and starts it once resumed (as an interrupted step).
        if (!this.halted && !instance.outcome) {
          await this.emit({ type: "step_started", correlationId: op.cid, data: { attempt: 1 } });
        }
      } else if (op.kind === "wait") {
        await this.emit({ type: "wait_created", correlationId: op.cid, data: { resumeAt: op.resumeAt! } });
      } else if (op.kind === "hook") {
        const holder = await this.tokenHolder(op);
        if (holder !== undefined) {
          await this.emit({ type: "hook_disposed", correlationId: op.cid, data: { conflictRunId: holder } });
          continue;
        }
        const hook = op.hook!;
        const data: EventDataMap["hook_created"] = { token: hook.token, kind: hook.kind };
        if (hook.metadata !== undefined) data.metadata = hook.metadata;
        if (hook.options !== undefined) {
          data.options = await serializeAsync(hook.options, { path: "createWebhook() options" });
        }
        await this.emit({ type: "hook_created", correlationId: op.cid, data });
      } else {
        await this.emit({ type: "hook_disposed", correlationId: op.cid });
      }
    }
    if (instance.outcomeEvent) {
      await this.emitTerminal(instance.outcomeEvent);
    } else if (instance.stalled) {
      await this.emitTerminal({
        type: "run_failed",
        data: { error: recordError(new WorkflowStalledError(instance.workflowName)) },
      });
    }
  }

  /**
   * The run holding `op`'s token, when a live hook holds it. Generated tokens are random and never checked; a
   * chosen one is looked up (this run's own hooks first) so that the refusal is recorded in the log and every
   * replay decides the same. Two runs racing for one token are still separated by the world: the loser's
   * append is refused with HOOK_TOKEN_CONFLICT, and its re-drive finds the winner here.
   */
  private async tokenHolder(op: Operation): Promise<string | undefined> {
    if (!op.hook?.custom) return undefined;
    if (this.instance.tokenHolder(op) !== undefined) return this.runId;
    const held = await (await this.ctx.world()).getHookByToken(op.hook.token);
    // This run's own hooks are known to the instance (checked above): a hook of this run the world still shows is
    // one the code disposed in this batch (`using` at the end of a block), not yet stored.
    return held && held.runId !== this.runId ? held.runId : undefined;
  }

  private async emitTerminal(event: NewEvent): Promise<void> {
    this.terminalEmitted = true;
    await this.emit(event);
  }

  /** Stamps `event` with the time the sandbox sees, queues it for the next append and applies it. */
  private async emit(event: NewEvent): Promise<AppliedEvent> {
    const stamped = { ...event, createdAt: this.ctx.now() } as AppliedEvent;
    if (stamped.type === "hook_received" && stamped.data?.deliveryId !== undefined) {
      this.unstoredDeliveries.add(stamped.data.deliveryId);
    }
    this.outbox.push(stamped);
    await this.instance.apply(stamped);
    return stamped;
  }

  /** Workflow code or the engine failed in a way the run cannot recover from: record it as the run's end. */
  private failRun(error: unknown): void {
    if (this.detached) return;
    this.ctx.reportError(this.runId, error);
    if (this.instance.terminal || this.terminalEmitted) return;
    this.terminalEmitted = true;
    this.instance.terminal = "run_failed";
    this.outbox.push({ type: "run_failed", data: { error: recordError(error) }, createdAt: this.ctx.now() });
  }

  /** Group commit: one append in flight; events produced meanwhile go into the next one. */
  private async flush(): Promise<void> {
    if (this.appending || this.detached) return;
    this.appending = true;
    try {
      while (this.outbox.length > 0 && !this.detached) {
        const batch = this.outbox;
        this.outbox = [];
        const world = await this.ctx.world();
        const result = await this.appendAfterTransparent(world, batch);
        if (!result) continue; // a pause left nothing of the batch to write
        this.committedSeq = result.run.lastSeq;
        this.ctx.onAppended(batch.length);
        this.afterCommit(batch);
      }
    } catch (error) {
      this.lost(error);
      return;
    } finally {
      this.appending = false;
    }
    // Re-armed here too, not only after a commit: a timer may fire a moment early and find nothing due.
    this.ctx.scheduleWake(this.runId, this.nextWakeAt());
    this.maybeSuspend();
  }

  /**
   * Appends `batch` at the head this run knows. When an operator appended transparent events first (pause,
   * resume: nothing workflow code sees), the batch goes after them: they are applied here, and a resume restarts
   * what the pause held back. Any other conflict is a real one (the caller drops the instance).
   */
  private async appendAfterTransparent(world: World, batch: AppliedEvent[]) {
    for (;;) {
      if (batch.length === 0) return undefined;
      try {
        return await world.append(this.runId, this.committedSeq, batch, { lease: this.lease });
      } catch (error) {
        if (!isWorldError(error, "APPEND_CONFLICT")) throw error;
        const newer = await world.readEvents(this.runId, { afterSeq: this.committedSeq });
        if (newer.length === 0 || !newer.every((e) => TRANSPARENT_EVENT_TYPES.has(e.type))) throw error;
        const wasPaused = this.instance.paused;
        for (const event of newer) await this.instance.apply(event);
        this.committedSeq = newer.at(-1)!.seq;
        if (this.instance.paused) {
          // Paused first: the batch's step starts are taken back (a body starts only after its start is stored,
          // so none has begun); the steps start when the run is resumed.
          for (let i = batch.length - 1; i >= 0; i--) {
            const event = batch[i]!;
            if (event.type !== "step_started") continue;
            batch.splice(i, 1);
            this.instance.revertStart(event.correlationId!, event.data!.attempt);
          }
        } else if (wasPaused) this.enqueue(() => this.resume());
      }
    }
  }

  private afterCommit(batch: readonly AppliedEvent[]): void {
    if (this.deliveries.length > 0) this.settleDeliveries(batch);
    if (this.unstoredDeliveries.size > 0) {
      for (const event of batch) {
        if (event.type === "hook_received" && event.data?.deliveryId !== undefined) {
          this.unstoredDeliveries.delete(event.data.deliveryId);
        }
      }
    }
    const ended = batch.some((e) => TERMINAL.has(e.type));
    // Cancelled or lost while this append was in flight: start nothing. (A lease renewal that raced with the
    // run's last append finds the lease freed by the end and detaches the run; its tasks must still go.)
    if (this.detached) {
      if (ended) this.withdrawTasks();
      return;
    }
    if (ended) {
      this.endedWith = batch.find((e) => TERMINAL.has(e.type));
      if (this.instance.parent || this.instance.pendingChildren().length > 0) this.ctx.runEnded(this.runId);
      this.finish();
      return;
    }
    if (!this.halted) {
      const offers: StepTask[] = [];
      for (const event of batch) {
        if (event.type !== "step_started") continue;
        const cid = event.correlationId!;
        const op = this.instance.ops.get(cid);
        if (!op || op.attempt !== event.data!.attempt || this.running.has(cid) || this.remote.has(cid))
          continue;
        // The policy keeps a sequential run inline (no round trip); parallel steps beyond it go to any worker. A
        // step re-driven by an operator's retry stays here: its retry budget counts from the retry (attemptBase),
        // which a step task does not carry.
        if (op.attemptBase === undefined && this.ctx.shouldOffer(this)) {
          this.remote.set(cid, op.attempt);
          offers.push(this.taskOf(op));
        } else this.startStep(cid, op.attempt);
      }
      if (offers.length > 0) void this.offer(offers);
    }
    if (this.fromTasks.size > 0) this.removeRecordedTasks(batch);
    this.ctx.scheduleWake(this.runId, this.nextWakeAt());
  }

  /** Task rows whose outcome is now in the log are not needed any more (a takeover reads the log). */
  private removeRecordedTasks(batch: readonly AppliedEvent[]): void {
    const cids: string[] = [];
    for (const event of batch) if (this.fromTasks.delete(event)) cids.push(event.correlationId!);
    const world = this.ctx.taskWorld();
    if (cids.length > 0 && world) {
      void world.removeStepTasks(this.runId, cids).catch((error) => this.ctx.reportError(this.runId, error));
    }
  }

  private startStep(cid: string, attempt: number): void {
    const op = this.instance.ops.get(cid);
    if (!op || op.attempt !== attempt || this.running.has(cid)) return;
    this.running.add(cid);
    const controller = new AbortController();
    this.controllers.set(cid, controller);
    void this.ctx.runStep(this.instance, op, controller.signal).then((result) => {
      this.enqueue(() => this.onStepResult(op, attempt, result));
    });
  }

  nextWakeAt(): number | undefined {
    if (this.instance.paused) return undefined;
    let at: number | undefined;
    for (const op of this.instance.ops.values()) {
      if (!op.logged) continue;
      const t = op.kind === "wait" ? op.resumeAt : op.retryAt;
      if (t !== undefined && (at === undefined || t < at)) at = t;
    }
    return at;
  }

  /** Nothing runs, nothing to write: give the lease back and wait for a wake-up (or an outside event). */
  private maybeSuspend(): void {
    if (!this.active || this.detached || this.appending || this.pendingTasks > 0) return;
    if (this.outbox.length > 0 || this.running.size > 0 || this.remote.size > 0) return;
    const lease = this.lease!;
    this.lease = undefined;
    this.releasing = this.ctx
      .world()
      .then((w) => w.releaseLease(lease))
      .catch((error) => this.ctx.reportError(this.runId, error));
    this.ctx.suspended(this);
  }

  /**
   * The run ended: release everything. Bodies still running are told through their AbortSignal (`reason`, or
   * a plain "run ended" error when the run completed while a race loser still ran); their results are discarded.
   */
  finish(reason?: unknown): void {
    if (this.detached) return;
    this.detached = true;
    this.finishReason = reason;
    this.abortSteps(reason);
    this.settleDeliveries(undefined);
    const lease = this.lease;
    this.lease = undefined;
    if (lease)
      void this.ctx
        .world()
        .then((w) => w.releaseLease(lease))
        .catch(() => {});
    this.ctx.scheduleWake(this.runId, undefined);
    this.withdrawTasks();
    this.ctx.dropped(this);
  }

  /** The run ended: its task rows go (race losers, a cancelled run; their claimers hear the run ended). */
  private withdrawTasks(): void {
    const tasks = this.usedTasks ? this.ctx.taskWorld() : undefined;
    this.usedTasks = false;
    if (tasks)
      void tasks.removeStepTasks(this.runId).catch((error) => this.ctx.reportError(this.runId, error));
  }

  /** Fires the AbortSignal of every body still running here. */
  abortSteps(reason?: unknown): void {
    if (this.controllers.size === 0) return;
    const why =
      reason ??
      Object.assign(new Error(`Run ${this.runId} has ended; the result of this step is no longer needed.`), {
        name: "AbortError",
        code: "RUN_ENDED",
      });
    const controllers = [...this.controllers.values()];
    this.controllers.clear();
    for (const controller of controllers) controller.abort(why);
  }

  /**
   * An append was refused or failed: someone else wrote to the log (cancellation, another executor) or
   * storage is unavailable. Drop the instance; re-drive from the log unless another executor owns the run.
   */
  lost(error: unknown): void {
    if (this.detached) return;
    this.detached = true;
    this.settleDeliveries(undefined);
    const lease = this.lease;
    this.lease = undefined;
    if (lease && !isWorldError(error, "LEASE_LOST")) {
      void this.ctx
        .world()
        .then((w) => w.releaseLease(lease))
        .catch(() => {});
    }
    if (isWorldError(error, "LEASE_LOST")) this.ctx.dropped(this);
    else if (isWorldError(error, "APPEND_CONFLICT") || isWorldError(error, "RUN_FINISHED"))
      this.ctx.dropped(this, 0);
    // Another run took a chosen hook token first: the re-drive finds it held and records the refusal. The short
    // pause keeps a world whose getHookByToken lags behind its append check from spinning.
    else if (isWorldError(error, "HOOK_TOKEN_CONFLICT")) this.ctx.dropped(this, 50);
    else {
      this.ctx.reportError(this.runId, error);
      this.ctx.dropped(this, 1000);
    }
  }
}
