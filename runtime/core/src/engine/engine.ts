/**
 * The engine: drives every run this process holds. It picks runs up (after `start()`, on a wake-up timer,
 * after a restart), keeps their live instances in a bounded LRU cache so that continuing a run at the log
 * head costs no replay, runs step bodies inline with bounded concurrency, and arms in-process timers for
 * durable wake-ups (sleeps, retry back-offs).
 *
 * Timers and process lifetime (see wake-timers.ts): wake-up timers are unref'd unless a caller in this
 * process awaits the run's `returnValue`, so a process whose runs have ended, or that only has long sleeps
 * pending, exits by itself. The wake-ups are durable: `resumePendingRuns()` in the next process picks them up.
 */

import { randomBytes } from "node:crypto";
import type { Script } from "node:vm";
import {
  type HookRecord,
  isWorldError,
  type Lease,
  type NewEvent,
  newRunId,
  type RunRecord,
  type StepTask,
  type StepTaskWorld,
  stepTasksOf,
  TERMINAL_RUN_STATUSES,
  type WorkflowEvent,
  type World,
} from "@wfkit/world";
import { STEPS_KEY } from "../sandbox/abi.js";
import { HookNotFoundError } from "../sandbox/hook-errors.js";
import { WorkflowRunCancelledError } from "../sandbox/run-errors.js";
import { deserialize, serialize } from "../serialization/index.js";
import { compileWorkflowBundle, timeLimitFromEnv } from "../vm/index.js";
import { type CodeProvider, MissingCodeProviderError } from "./code-provider.js";
import { StepNotFoundError } from "./engine-errors.js";
import { type Operation, type StepInput, WorkflowInstance } from "./instance.js";
import { type EngineContext, LiveRun, recordError, type StepResult } from "./live-run.js";
import { DEFAULT_RETRY, maxRetriesOf, type RetryOptions } from "./retry-policy.js";
import { Semaphore } from "./semaphore.js";
import { stepContext } from "./step-context.js";
import { stepOutcome } from "./step-outcome.js";
import { StepTaskRunner } from "./step-task-runner.js";
import { type StreamScope, withStreamScope } from "./streams.js";
import { WakeTimers } from "./wake-timers.js";

export interface EngineOptions {
  /** The storage, or a function that opens it on first use. */
  world: World | (() => Promise<World>);
  codeProvider?: CodeProvider;
  /** Step bodies running at once in this process. Default `WORKFLOW_MAX_CONCURRENT_STEPS`, else 32. */
  maxConcurrentSteps?: number;
  /** Lease owner name; default `<hostname>:<pid>:<random>`. */
  ownerId?: string;
  /** First retry back-off (default 1000 ms) and its cap (default 60 000 ms). */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Lease time-to-live; renewed every third of it while steps run. Default `WORKFLOW_LEASE_TTL_MS`, else 10 000 ms. */
  leaseTtlMs?: number;
  /**
   * Runs driven at once (each holds a live sandbox); more wait their turn in FIFO order. A run waiting for
   * a sleep or retry does not count. Default: no limit. Measured on the 1,000-run burst, a limit does not
   * lower peak RSS (dead sandboxes waiting for V8's next full GC dominate it) and it can deadlock a step that
   * awaits another run of this process, so it is opt-in, for bounding live state under slow steps.
   */
  maxActiveRuns?: number;
  /** Idle (suspended) live instances kept for a cheap resume. Default 256. */
  cacheSize?: number;
  /** Where background errors go (a run that cannot be driven). Default: console.error. */
  onError?: (error: unknown, runId: string) => void;
  /**
   * Whether `start()` drives the runs it creates in this process (default true, or `WORKFLOW_EXECUTE_RUNS=0`
   * for false). False suits an app that only starts runs while workers elsewhere execute them.
   */
  executeRuns?: boolean;
  /**
   * Fan-out of a run's steps to other workers, on a world with step tasks (Postgres). A step starts inline in
   * the executor's process unless that run already has `inlineStepsPerRun` bodies running here (default 1: the
   * 2nd…Nth step of a `Promise.all` are offered) or all `maxConcurrentSteps` slots are busy; then it is offered
   * to any worker, this process included once it has a free slot. A sequential run never leaves the fast path.
   * `false` (also `WORKFLOW_STEP_FAN_OUT=0`) runs every step inline and claims no step tasks of other
   * engines. Otherwise every engine on such a world that drives runs or `listen()`s also claims offered steps;
   * the steps it offered itself only after `ownOfferDelayMs` (default 20 ms), so that other workers take them
   * first (alone, it runs them after that delay).
   */
  stepFanOut?: false | { inlineStepsPerRun?: number; ownOfferDelayMs?: number };
  /**
   * How long workflow code may run without yielding (one turn: from a step's result to the code's next await), in
   * ms; 0 for no limit. A run that exceeds it fails with `WORKFLOW_TIMEOUT` while other runs carry on (an endless
   * loop would otherwise freeze every run of the process). Default `WORKFLOW_CODE_TIMEOUT_MS`, else 5000.
   */
  workflowCodeTimeoutMs?: number;
}

export interface EngineStats {
  /** Instances rebuilt by replaying a log that had already progressed (cache misses). */
  replays: number;
  /** Runs continued from a cached live instance. */
  cacheHits: number;
  /** Durable appends made, and events in them. */
  appends: number;
  eventsAppended: number;
  /** Step body executions (every attempt), inline and of claimed step tasks. */
  stepAttempts: number;
  /** Steps offered to other workers as step tasks, and bodies of step tasks this process claimed and ran. */
  stepsOffered: number;
  stepTasksRun: number;
}

export class Engine implements EngineContext {
  readonly stats: EngineStats = {
    replays: 0,
    cacheHits: 0,
    appends: 0,
    eventsAppended: 0,
    stepAttempts: 0,
    stepsOffered: 0,
    stepTasksRun: 0,
  };
  readonly retry: RetryOptions;
  readonly ownerId: string;
  codeProvider: CodeProvider | undefined;
  private readonly worldSource: World | (() => Promise<World>);
  private worldPromise: Promise<World> | undefined;
  private readonly semaphore: Semaphore;
  private readonly admission: Semaphore;
  private readonly leaseTtlMs: number;
  private readonly executeRuns: boolean;
  private readonly workflowCodeTimeoutMs: number;
  private readonly cacheSize: number;
  private readonly onError: (error: unknown, runId: string) => void;
  /** Live instances, least recently used first. Active ones are never evicted. */
  private readonly live = new Map<string, LiveRun>();
  /** Runs a `drive` is picking up right now (between its first await and activation). */
  private readonly driving = new Map<string, boolean>();
  private readonly wakeTimers: WakeTimers;
  /** Runs `start()` is creating right now (their "created" notification is not news). */
  private readonly creating = new Set<string>();
  private renewTimer: NodeJS.Timeout | undefined;
  private unwatchEnds: (() => void) | undefined;
  private closed = false;
  /** Runs at most this many of one run's step bodies here before offering the rest (undefined: never offer). */
  private readonly inlineStepsPerRun: number | undefined;
  private readonly ownOfferDelayMs: number;
  /** The world's step tasks, once the engine started using them (first drive or `listen()`). */
  private stepTasks: StepTaskWorld | undefined;
  private taskRunner: StepTaskRunner | undefined;
  private unwatchTasks: (() => void) | undefined;
  /** When this process last claimed back a step it offered, and when another process last ran one of its steps. */
  private claimedOwnAt = 0;
  private othersRanOursAt = 0;
  /** Own offers this process claimed back (run/step/attempt), until their completion is heard. */
  private readonly claimedOwn = new Set<string>();

  constructor(opts: EngineOptions) {
    this.worldSource = opts.world;
    this.codeProvider = opts.codeProvider;
    this.semaphore = new Semaphore(
      opts.maxConcurrentSteps ?? maxConcurrentStepsFromEnv(),
      "maxConcurrentSteps",
    );
    this.admission = new Semaphore(opts.maxActiveRuns ?? Number.MAX_SAFE_INTEGER, "maxActiveRuns");
    this.ownerId = opts.ownerId ?? `${process.pid}:${randomBytes(4).toString("hex")}`;
    this.retry = {
      baseMs: opts.retryBaseMs ?? DEFAULT_RETRY.baseMs,
      maxMs: opts.retryMaxMs ?? DEFAULT_RETRY.maxMs,
    };
    this.leaseTtlMs = opts.leaseTtlMs ?? leaseTtlFromEnv();
    this.executeRuns = opts.executeRuns ?? process.env.WORKFLOW_EXECUTE_RUNS !== "0";
    this.workflowCodeTimeoutMs = opts.workflowCodeTimeoutMs ?? timeLimitFromEnv();
    if (!Number.isInteger(this.workflowCodeTimeoutMs) || this.workflowCodeTimeoutMs < 0) {
      throw new TypeError(
        `EngineOptions.workflowCodeTimeoutMs must be a whole number of ms (0: no limit), got ${opts.workflowCodeTimeoutMs}`,
      );
    }
    this.cacheSize = opts.cacheSize ?? 256;
    const fanOut = opts.stepFanOut ?? (process.env.WORKFLOW_STEP_FAN_OUT === "0" ? false : {});
    this.inlineStepsPerRun = fanOut === false ? undefined : (fanOut.inlineStepsPerRun ?? 1);
    this.ownOfferDelayMs = fanOut === false ? 0 : (fanOut.ownOfferDelayMs ?? 20);
    if (this.inlineStepsPerRun !== undefined && !(this.inlineStepsPerRun >= 0)) {
      throw new RangeError(
        `stepFanOut.inlineStepsPerRun must be a number ≥ 0 (Infinity: offer only when all step slots are busy), got ${this.inlineStepsPerRun}.`,
      );
    }
    this.wakeTimers = new WakeTimers(
      (runId) => void this.drive(runId),
      () => this.now(),
    );
    this.onError =
      opts.onError ??
      ((error, runId) =>
        console.error(`[workflow] run ${runId}: ${(error as Error)?.stack ?? String(error)}`));
  }

  world(): Promise<World> {
    const source = this.worldSource;
    this.worldPromise ??= typeof source === "function" ? source() : Promise.resolve(source);
    return this.worldPromise;
  }

  now(): number {
    return Date.now();
  }

  /** Creates a run and starts driving it in this process. Resolves once the run is stored. */
  async start(workflowName: string, args: unknown[], opts: { runId?: string } = {}): Promise<string> {
    const runId = opts.runId ?? newRunId();
    // A ReadableStream among the arguments is copied into a stream of the new run, once the run exists.
    let stored: (ok: boolean) => void = () => {};
    const whenStored = new Promise<boolean>((resolve) => {
      stored = resolve;
    });
    const scope: StreamScope = {
      runId,
      world: async () => {
        if (!(await whenStored))
          throw new Error(`Run ${runId} was not created; its argument streams are dropped.`);
        return this.world();
      },
    };
    let input: string;
    try {
      input = withStreamScope(scope, () => serialize(args, { path: "args" }));
    } catch (error) {
      stored(false);
      throw error;
    }
    const world = await this.world();
    // The world announces the new run synchronously inside createRun; `listen()` must not pick it up twice.
    this.creating.add(runId);
    let created: Awaited<ReturnType<World["createRun"]>>;
    try {
      // This process executes the run next, so the lease is taken in the same write as the run.
      const lease = this.executeRuns ? { owner: this.ownerId, ttlMs: this.leaseTtlMs } : undefined;
      created = await world.createRun({ runId, workflowName, input, ...(lease ? { lease } : {}) });
      stored(true);
    } catch (error) {
      stored(false);
      throw error;
    } finally {
      this.creating.delete(runId);
    }
    if (this.executeRuns) void this.drive(runId, created.events, created.lease);
    return runId;
  }

  /**
   * Also drives runs that other processes create or change: a run created elsewhere (a CLI, another app
   * instance), or new events for a run this process holds idle (a cancellation). Runs another executor
   * holds are left to it (the lease decides). Returns an unsubscribe function.
   */
  listen(): () => void {
    let unsubscribe: (() => void) | undefined;
    let stopped = false;
    void this.world().then((world) => {
      if (stopped) return;
      this.useStepTasks(world);
      unsubscribe = world.subscribe((n) => {
        if (this.closed || this.creating.has(n.runId) || this.driving.has(n.runId)) return;
        const live = this.live.get(n.runId);
        if (live?.active) return;
        if (n.kind === "created" || (live && n.kind !== "finished")) void this.drive(n.runId);
        else if (live && n.kind === "finished") this.evict(n.runId);
      });
    });
    return () => {
      stopped = true;
      unsubscribe?.();
    };
  }

  /**
   * Takes the run's lease and continues it: from the cached live instance when it is at the log head,
   * otherwise by replaying the log into a fresh sandbox. Resolves true when this process now drives it.
   */
  async drive(runId: string, knownEvents?: WorkflowEvent[], heldLease?: Lease): Promise<boolean> {
    if (this.closed) return false;
    const cached = this.live.get(runId);
    if (cached?.active) {
      cached.enqueue(() => cached.processDue());
      return true;
    }
    if (this.driving.has(runId)) {
      // Another drive is picking the run up; it reads the log after this call's trigger happened.
      this.driving.set(runId, true);
      return true;
    }
    this.driving.set(runId, false);
    let lease: Lease | undefined;
    let admitted = false;
    try {
      const turn = this.admission.acquire();
      if (turn) await turn;
      admitted = true;
      if (cached?.releasing) await cached.releasing;
      const world = await this.world();
      this.watchEnds(world);
      this.useStepTasks(world);
      // A lease taken with the run is used as is unless admission made us wait (it may have expired since).
      lease = heldLease && !turn ? heldLease : await world.acquireLease(runId, this.ownerId, this.leaseTtlMs);
      if (!lease) {
        // Another executor holds it. If that executor died, its lease expires: try again then, so a run
        // interrupted by a crash is taken over without waiting for the next process start.
        this.retryAfterLease(runId);
        return false;
      }
      let live = this.live.get(runId);
      const fresh = !live || live.detached;
      let events: WorkflowEvent[];
      if (live && !live.detached) {
        events = await world.readEvents(runId, { afterSeq: live.committedSeq });
        this.stats.cacheHits++;
      } else {
        live = undefined;
        events = knownEvents ?? (await world.readEvents(runId));
      }
      const last = events.at(-1);
      if (!live) {
        const first = events[0];
        if (first?.type !== "run_created" || isTerminal(last!)) {
          await world.releaseLease(lease);
          return false;
        }
        let instance: WorkflowInstance;
        try {
          instance = new WorkflowInstance({
            runId,
            workflowName: first.data!.workflowName,
            script: await this.load(first.data!.workflowName),
            timeLimitMs: this.workflowCodeTimeoutMs,
          });
        } catch (error) {
          // No code for this run here: record it as the run's failure rather than leaving callers waiting.
          this.onError(error, runId);
          await world.append(
            runId,
            last!.seq,
            [{ type: "run_failed", data: { error: recordError(error) } }],
            { lease },
          );
          await world.releaseLease(lease);
          return false;
        }
        live = new LiveRun(this, instance, 0);
        if (events.length > 1) this.stats.replays++;
      }
      if (last) live.committedSeq = last.seq;
      live.activate(lease);
      // The admission slot now belongs to the live run; `suspended`/`dropped` give it back.
      live.holdsSlot = true;
      admitted = false;
      this.touch(live);
      const target = live;
      const silent = fresh && events.length > 1;
      target.enqueue(async () => {
        await target.replay(events, silent);
        await target.resume();
      });
      return true;
    } catch (error) {
      this.onError(error, runId);
      if (lease) await (await this.world()).releaseLease(lease).catch(() => {});
      return false;
    } finally {
      if (admitted) this.admission.release();
      const retrigger = this.driving.get(runId);
      this.driving.delete(runId);
      if (retrigger) queueMicrotask(() => void this.drive(runId));
    }
  }

  private async load(workflowName: string): Promise<Script> {
    if (!this.codeProvider) throw new MissingCodeProviderError(workflowName);
    const bundle = await this.codeProvider.getWorkflowBundle(workflowName);
    return compileWorkflowBundle(bundle.code, { filename: bundle.filename, sourceMap: bundle.sourceMap });
  }

  /** Runs one attempt of a step body inline (bounded concurrency). */
  async runStep(instance: WorkflowInstance, op: Operation, signal?: AbortSignal): Promise<StepResult> {
    const wait = this.semaphore.acquire();
    if (wait) await wait;
    try {
      return await this.runBody(
        {
          runId: instance.runId,
          correlationId: op.cid,
          attempt: op.attempt,
          stepName: op.name,
          input: op.input!,
          runStartedAt: instance.startedAt,
        },
        signal,
      );
    } finally {
      this.semaphore.release();
      this.taskRunner?.slotFreed();
    }
  }

  /**
   * Runs one attempt of a step body, in this process's executor or for a claimed step task (the caller holds a
   * step slot); step metadata via AsyncLocalStorage.
   */
  private async runBody(step: StepTask, signal?: AbortSignal): Promise<StepResult> {
    let fn: unknown;
    try {
      if (this.codeProvider) await this.codeProvider.loadStep(step.stepName);
      fn = stepRegistry().get(step.stepName);
      if (typeof fn !== "function")
        return { ok: false, error: new StepNotFoundError(step.stepName), maxRetries: 0 };
      const input = withStreamScope(this.streamScope(step.runId), () => deserialize(step.input)) as StepInput;
      this.stats.stepAttempts++;
      const body = fn as (...a: unknown[]) => unknown;
      const value = await stepContext.run(
        {
          stepId: `${step.runId}/${step.correlationId}`,
          stepStartedAt: new Date(),
          attempt: step.attempt,
          closure: input.closure,
          workflowRunId: step.runId,
          workflowStartedAt: new Date(step.runStartedAt),
          signal,
          world: () => this.world(),
        },
        () => body.apply(undefined, input.args),
      );
      return { ok: true, value };
    } catch (error) {
      return { ok: false, error, maxRetries: maxRetriesOf(fn) };
    }
  }

  taskWorld(): StepTaskWorld | undefined {
    return this.stepTasks;
  }

  shouldOffer(live: LiveRun): boolean {
    if (!this.stepTasks) return false;
    const wanted =
      live.running.size >= this.inlineStepsPerRun! || this.semaphore.running >= this.semaphore.limit;
    return wanted && !this.probablyAlone();
  }

  /**
   * This process offered steps, nobody else took them within the head start, and no other process has run one of
   * its steps since: offering costs round trips and gains nothing, so steps stay inline until the evidence is
   * `ALONE_PROBE_MS` old, when the next batch is offered again to look for workers.
   */
  private probablyAlone(): boolean {
    return this.claimedOwnAt > this.othersRanOursAt && this.now() - this.claimedOwnAt < ALONE_PROBE_MS;
  }

  onOffered(count: number): void {
    this.stats.stepsOffered += count;
    this.taskRunner?.offering();
  }

  /**
   * On a world with step tasks: claims steps that any executor offers (this one included), and hands the
   * outcomes of the steps this process's runs offered back to them. Once per engine.
   */
  private useStepTasks(world: World): void {
    if (this.stepTasks || this.closed || this.inlineStepsPerRun === undefined) return;
    const tasks = stepTasksOf(world);
    if (!tasks) return;
    this.stepTasks = tasks;
    this.unwatchTasks = tasks.subscribeStepTasks((n) => {
      if (n.kind !== "completed") return;
      const live = this.live.get(n.runId);
      const key = `${n.runId}/${n.correlationId}/${n.attempt}`;
      if (!this.claimedOwn.delete(key) && live?.remote.get(n.correlationId) === n.attempt) {
        this.othersRanOursAt = this.now();
      }
      live?.remoteCompleted(n.correlationId, n.attempt, n.outcome);
    });
    this.taskRunner = new StepTaskRunner(tasks, {
      ownerId: this.ownerId,
      claimTtlMs: this.leaseTtlMs,
      // The safety net for a missed notification or a claimer that died (its claim expires silently).
      sweepMs: Math.max(250, Math.floor(this.leaseTtlMs / 2)),
      ownOfferDelayMs: this.ownOfferDelayMs,
      slots: this.semaphore,
      runBody: (task, signal) => this.runBody(task, signal),
      outcome: (task, result) => stepOutcome(this, task, result),
      cancelReason: async (runId) => (await world.getRun(runId))?.cancelReason,
      onError: (error, runId) => this.onError(error, runId),
      ran: () => {
        this.stats.stepTasksRun++;
      },
      claimed: (task) => {
        if (this.live.get(task.runId)?.remote.get(task.correlationId) !== task.attempt) return;
        // Nobody else took this process's own offer within the head start.
        this.claimedOwnAt = this.now();
        if (this.claimedOwn.size > 10_000) this.claimedOwn.clear();
        this.claimedOwn.add(`${task.runId}/${task.correlationId}/${task.attempt}`);
      },
    });
    this.taskRunner.start();
    this.ensureRenewal();
  }

  /** Where streams in values of this run live when they cross into host code (step inputs, step results). */
  streamScope(runId: string): StreamScope {
    return { world: this.worldOf, runId };
  }

  private readonly worldOf = (): Promise<World> => this.world();

  onAppended(count: number): void {
    this.stats.appends++;
    this.stats.eventsAppended += count;
  }

  private retryAfterLease(runId: string): void {
    const at = this.now() + this.leaseTtlMs;
    const armed = this.wakeTimers.armedAt(runId);
    if (armed === undefined || armed > at) this.wakeTimers.set(runId, at);
  }

  scheduleWake(runId: string, at: number | undefined): void {
    this.wakeTimers.set(runId, at);
  }

  suspended(live: LiveRun): void {
    this.releaseSlot(live);
    this.touch(live);
    this.evictIdle();
  }

  dropped(live: LiveRun, redriveAfterMs?: number): void {
    this.releaseSlot(live);
    if (this.live.get(live.runId) === live) this.live.delete(live.runId);
    if (redriveAfterMs !== undefined) {
      this.wakeTimers.after(live.runId, redriveAfterMs, () => void this.drive(live.runId));
    }
  }

  private releaseSlot(live: LiveRun): void {
    if (!live.holdsSlot) return;
    live.holdsSlot = false;
    this.admission.release();
  }

  reportError(runId: string, error: unknown): void {
    this.onError(error, runId);
  }

  /** Marks the run's end as awaited in this process: its wake-up timer keeps the process alive meanwhile. */
  retain(runId: string): () => void {
    return this.wakeTimers.retain(runId);
  }

  /** Appends `run_cancelled` and stops the live instance: no further step starts. */
  async cancel(runId: string, reason?: string): Promise<boolean> {
    const live = this.live.get(runId);
    if (live) live.stopping = true;
    const world = await this.world();
    for (;;) {
      const run = await world.getRun(runId);
      if (!run) return false;
      if (TERMINAL_RUN_STATUSES.includes(run.status)) break;
      try {
        await world.append(runId, run.lastSeq, [
          { type: "run_cancelled", data: reason === undefined ? {} : { reason } },
        ]);
        break;
      } catch (error) {
        if (isWorldError(error, "APPEND_CONFLICT")) continue;
        if (isWorldError(error, "RUN_FINISHED")) break;
        throw error;
      }
    }
    const record = await world.getRun(runId);
    this.live.get(runId)?.finish(cancelledError(runId, record));
    this.scheduleWake(runId, undefined);
    return true;
  }

  /**
   * Runs cancelled by another process (or another engine on this world) while their step bodies run here:
   * their AbortSignals fire at once instead of when the next append is refused. One subscription per engine,
   * made when the first run is driven.
   */
  private watchEnds(world: World): void {
    if (this.unwatchEnds) return;
    this.unwatchEnds = world.subscribe((n) => {
      if (n.kind !== "finished" && !TERMINAL_RUN_STATUSES.includes(n.status)) return;
      const live = this.live.get(n.runId);
      if (!live || live.detached) return;
      if (n.status !== "cancelled") return;
      void world.getRun(n.runId).then(
        (record) => this.live.get(n.runId)?.finish(cancelledError(n.runId, record)),
        (error) => this.onError(error, n.runId),
      );
    });
  }

  /**
   * Delivers a payload to the live hook holding `token` (`hook_received`), and makes sure some process drives
   * the run on. Refused with `HookNotFoundError` when no live hook holds the token. `kind` restricts which
   * hooks may be resumed this way (a plain hook is not resumable through the webhook URL).
   */
  async resumeHook(token: string, payload: unknown, kind?: "hook" | "webhook"): Promise<HookRecord> {
    const world = await this.world();
    const hook = await world.getHookByToken(token);
    if (!hook || (kind !== undefined && hook.kind !== kind)) throw new HookNotFoundError(token);
    const event: NewEvent = {
      type: "hook_received",
      correlationId: hook.hookId,
      data: { payload: serialize(payload, { path: "hook payload" }) },
    };
    const live = this.live.get(hook.runId);
    if (live?.active && !live.detached && (await live.deliver(event))) return hook;
    for (;;) {
      const run = await world.getRun(hook.runId);
      if (!run || TERMINAL_RUN_STATUSES.includes(run.status)) throw new HookNotFoundError(token);
      try {
        await world.append(hook.runId, run.lastSeq, [{ ...event, createdAt: this.now() }]);
        break;
      } catch (error) {
        if (isWorldError(error, "APPEND_CONFLICT")) continue;
        if (isWorldError(error, "RUN_FINISHED")) throw new HookNotFoundError(token);
        throw error;
      }
    }
    void this.drive(hook.runId);
    return hook;
  }

  /**
   * After a restart: takes over unfinished runs whose lease is free or expired (replaying them, restarting
   * interrupted steps, arming their wake-ups). Returns how many runs this process now drives.
   */
  async resumePendingRuns(): Promise<number> {
    const world = await this.world();
    let taken = 0;
    let cursor: string | undefined;
    do {
      const page = await world.listUnfinished(500, cursor);
      for (const run of page.items) {
        if (this.live.get(run.runId)?.active) continue;
        if (await this.drive(run.runId)) taken++;
      }
      cursor = page.nextCursor;
    } while (cursor);
    this.ensureRenewal();
    return taken;
  }

  /** Drops an idle cached instance (tests use it to force a replay). Returns false when it is active. */
  evict(runId: string): boolean {
    const live = this.live.get(runId);
    if (!live) return true;
    if (live.active) return false;
    live.detached = true;
    this.live.delete(runId);
    return true;
  }

  /** Live instances held (active and idle). */
  get cachedRuns(): number {
    return this.live.size;
  }

  /** Stops timers and lease renewal; leases of active runs expire on their own. The world stays open. */
  close(): void {
    this.closed = true;
    this.unwatchEnds?.();
    this.unwatchTasks?.();
    this.taskRunner?.stop();
    this.wakeTimers.close();
    if (this.renewTimer) clearInterval(this.renewTimer);
    for (const live of this.live.values()) live.detached = true;
    this.live.clear();
  }

  private touch(live: LiveRun): void {
    this.live.delete(live.runId);
    this.live.set(live.runId, live);
    this.ensureRenewal();
  }

  private evictIdle(): void {
    if (this.live.size <= this.cacheSize) return;
    for (const [runId, live] of this.live) {
      if (this.live.size <= this.cacheSize) break;
      if (!live.active) {
        live.detached = true;
        this.live.delete(runId);
      }
    }
  }

  /** Renews the leases of runs with steps in flight, every third of the lease TTL. */
  private ensureRenewal(): void {
    if (this.renewTimer || this.closed) return;
    this.renewTimer = setInterval(
      () => void this.renewLeases(),
      Math.max(10, Math.floor(this.leaseTtlMs / 3)),
    );
    this.renewTimer.unref();
  }

  private async renewLeases(): Promise<void> {
    const world = await this.world();
    for (const live of this.live.values()) {
      const lease = live.lease;
      if (!lease) continue;
      // A lost notification or a claimer that died must not leave the run waiting for a step task forever.
      if (live.remote.size > 0) live.pollTasks(true);
      const renewed = await world.renewLease(lease, this.leaseTtlMs).catch(() => undefined);
      if (live.lease !== lease) continue;
      if (renewed) live.lease = renewed;
      // With an append in flight, its answer decides: the append that ends a run frees the lease (Postgres), and
      // declaring it lost here would skip the end's clean-up (aborting race losers, withdrawing step tasks).
      else if (!live.appendInFlight) {
        live.lost(Object.assign(new Error(`Lease on run ${live.runId} was lost`), { code: "LEASE_LOST" }));
      }
    }
  }
}

/** How long the evidence that no other worker takes this process's offered steps keeps steps inline. */
const ALONE_PROBE_MS = 10_000;

function cancelledError(runId: string, record: RunRecord | undefined): WorkflowRunCancelledError {
  return new WorkflowRunCancelledError(runId, record?.cancelReason);
}

function isTerminal(event: WorkflowEvent): boolean {
  return event.type === "run_completed" || event.type === "run_failed" || event.type === "run_cancelled";
}

function stepRegistry(): Map<string, unknown> {
  const g = globalThis as unknown as Record<symbol, Map<string, unknown> | undefined>;
  g[STEPS_KEY] ??= new Map();
  return g[STEPS_KEY];
}

/**
 * How long a crashed executor's runs stay locked before another process may take them over. Short by default
 * (renewal costs one small write every third of it per run with steps in flight); `WORKFLOW_LEASE_TTL_MS`
 * overrides it.
 */
function leaseTtlFromEnv(): number {
  const raw = process.env.WORKFLOW_LEASE_TTL_MS;
  if (raw === undefined || raw === "") return 10_000;
  const ms = Number(raw);
  if (!Number.isFinite(ms) || ms < 100) {
    throw new Error(`WORKFLOW_LEASE_TTL_MS must be a number of milliseconds ≥ 100, got "${raw}".`);
  }
  return ms;
}

/** A worker's step concurrency, configurable without code (`wf worker`, an app on `WORKFLOW_TARGET_WORLD`). */
function maxConcurrentStepsFromEnv(): number {
  const raw = process.env.WORKFLOW_MAX_CONCURRENT_STEPS;
  if (raw === undefined || raw === "") return 32;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(
      `WORKFLOW_MAX_CONCURRENT_STEPS must be a positive integer (step bodies running at once per process), got "${raw}".`,
    );
  }
  return n;
}
