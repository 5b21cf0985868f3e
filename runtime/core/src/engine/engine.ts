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
  RunFinishedError,
  type RunRecord,
  type StepTask,
  type StepTaskWorld,
  stepTasksOf,
  TERMINAL_RUN_STATUSES,
  type WorkflowEvent,
  type World,
} from "@wfkit/world";
import { errorCode, isLogged, log } from "../observability/logger.js";
import {
  contextOf,
  currentTraceparent,
  endRunSpan,
  endStepSpan,
  startRunSpan,
  startStepSpan,
  tracingActive,
  withSpan,
} from "../observability/tracing.js";
import { STEPS_KEY } from "../sandbox/abi.js";
import { parseDuration } from "../sandbox/duration.js";
import { StepTimeoutError } from "../sandbox/errors.js";
import { HookNotFoundError } from "../sandbox/hook-errors.js";
import {
  RunAlreadyExistsError,
  WorkflowRunCancelledError,
  WorkflowRunNotFoundError,
} from "../sandbox/run-errors.js";
import { StepNotRegisteredError, WorkflowNotRegisteredError } from "../sandbox/workflow-error.js";
import { deserialize, deserializeError, serialize } from "../serialization/index.js";
import { emitEvent } from "../triggers/events.js";
import { Scheduler } from "../triggers/scheduler.js";
import { compileWorkflowBundle, timeLimitFromEnv } from "../vm/index.js";
import { currentClock } from "./clock.js";
import { type CodeProvider, MissingCodeProviderError } from "./code-provider.js";
import { RunNotRetryableError } from "./engine-errors.js";
import {
  FlowControl,
  type FlowSpec,
  flowSpecOf,
  gatesOrThrow,
  type WaitingFor,
  withStartInput,
} from "./flow-control.js";
import { dropWaiters, joinDebounce } from "./flow-gate-state.js";
import { forkPrefix, retryPlan } from "./history.js";
import { checkHookToken } from "./hook-token.js";
import { newDeliveryId } from "./ids.js";
import {
  CHILD_TOKEN_PREFIX,
  type Operation,
  type ParentLink,
  type StepInput,
  WorkflowInstance,
} from "./instance.js";
import { currentIdPattern, lookupFunction } from "./legacy-ids.js";
import { type EngineContext, LiveRun, type StepResult } from "./live-run.js";
import { type ReplayReport, type ReplaySubject, replayAgainst } from "./replay-check.js";
import { DEFAULT_RETRY, maxRetriesOf, type RetryOptions } from "./retry-policy.js";
import { Semaphore } from "./semaphore.js";
import { stepContext } from "./step-context.js";
import { stepOutcome } from "./step-outcome.js";
import { setStepReferenceLoader } from "./step-references.js";
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
  /**
   * Where background errors go (a run that cannot be driven). Default: the runtime's logger (`error` level; a
   * worker without a run's code at `warn`), see `observability/logger.ts`.
   */
  onError?: (error: unknown, runId: string) => void;
  /**
   * Whether `start()` drives the runs it creates in this process (default true, or `WORKFLOW_EXECUTE_RUNS=0`
   * for false). False suits an app that only starts runs while workers elsewhere execute them.
   */
  executeRuns?: boolean;
  /**
   * Whether `start()` in a process that executes runs refuses, with `WorkflowNotRegisteredError`, a workflow ID
   * that its own workflow code does not define (default true; `WORKFLOW_CHECK_WORKFLOW_IDS=0` for false). Turn it
   * off where a process starts workflows that only other processes (another service on the same world) define.
   */
  checkWorkflowIds?: boolean;
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
  /**
   * How often an engine that executes runs looks for runs that need an executor and that no notification brought
   * here: pending deliveries (hook payloads recorded by any process) and due wake-ups, whoever armed them. The
   * safety net for a notification that was lost or an executor that died. Default `WORKFLOW_SWEEP_INTERVAL_MS`,
   * else half the lease TTL (at least 1 s); `false` turns it off.
   */
  sweepIntervalMs?: number | false;
}

/** How a run came to be driven: decides what happens when another process holds its lease. */
interface DriveOptions {
  /** The run's log as the caller already has it (`start()`). */
  events?: WorkflowEvent[];
  /** A lease the caller took for this process (with the run). */
  lease?: Lease;
  /**
   * Try again once the holder's lease would have expired (default true): the holder may have died. False for
   * drives a notification or the sweep asked for: the holder consumes what is new itself, and the next sweep
   * tries again if it died.
   */
  retryIfHeld?: boolean;
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
  protected readonly leaseTtlMs: number;
  private readonly executeRuns: boolean;
  private readonly checkWorkflowIds: boolean;
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
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly sweepIntervalMs: number | false;
  private sweeping = false;
  /** Runs whose code this process could not load, with how long to wait before trying again. */
  private readonly codeBackoff = new Map<string, number>();
  private warnedNoCode = false;
  private unwatchWorld: (() => void) | undefined;
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
  /** Trace contexts of runs driven elsewhere whose step tasks this process ran (bounded). */
  private readonly traceparents = new Map<string, string>();
  /** [schedules] Fires schedule ticks; started with the sweep, in processes that execute runs only. */
  private scheduler: Scheduler | undefined;
  /** [flow control] Concurrency slots, throttles and debounces across the world's processes (flow-control.ts). */
  private readonly flow: FlowControl;
  /** [flow control] Slot releases not yet written (see `flowSettled`). */
  private readonly flowReleases = new Set<Promise<void>>();

  constructor(opts: EngineOptions) {
    this.worldSource = opts.world;
    this.codeProvider = opts.codeProvider;
    // Step functions passed as values run through this engine's code provider (step-references.ts).
    if (opts.codeProvider) setStepReferenceLoader((stepId) => this.codeProvider?.loadStep(stepId));
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
    this.sweepIntervalMs =
      opts.sweepIntervalMs ?? sweepIntervalFromEnv() ?? Math.max(1_000, Math.floor(this.leaseTtlMs / 2));
    this.executeRuns = opts.executeRuns ?? process.env.WORKFLOW_EXECUTE_RUNS !== "0";
    this.checkWorkflowIds = opts.checkWorkflowIds ?? process.env.WORKFLOW_CHECK_WORKFLOW_IDS !== "0";
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
    this.wakeTimers = new WakeTimers((runId) => void this.drive(runId));
    this.flow = new FlowControl({
      now: () => this.now(),
      slotTtlMs: this.leaseTtlMs,
      owner: this.ownerId,
      kick: (runId) => this.kickFlowWaiter(runId),
      onError: (error, runId) => this.onError(error, runId),
    });
    this.onError =
      opts.onError ??
      ((error, runId) => {
        const code = errorCode(error);
        const fields = { runId, errorCode: code, error };
        if (code === "WORKFLOW_CODE_UNAVAILABLE")
          log.warn((error as Error).message, { runId, errorCode: code });
        else log.error(`run ${runId}: ${(error as Error)?.message ?? String(error)}`, fields);
      });
  }

  world(): Promise<World> {
    if (!this.worldPromise) {
      const source = this.worldSource;
      this.worldPromise = (typeof source === "function" ? source() : Promise.resolve(source)).then(
        (world) => {
          // From the moment the world is open this engine hears what other processes record for runs.
          this.watchWorld(world);
          return world;
        },
      );
    }
    return this.worldPromise;
  }

  /** The process's clock (`clock.ts`): the wall clock unless a test installed virtual time. */
  now(): number {
    return currentClock().now();
  }

  /**
   * Creates a run and starts driving it in this process. Resolves once the run is stored. With a caller-chosen
   * `runId` that already exists, `onConflict` decides: `"use-existing"` (the default) resolves with it (the
   * world's unique run ID is the arbiter, so concurrent starts in any processes agree on one run), `"fail"`
   * rejects with `RunAlreadyExistsError`. A run of another workflow under that ID is always refused.
   */
  async start(
    workflowName: string,
    args: unknown[],
    opts: {
      runId?: string;
      onConflict?: "use-existing" | "fail";
      metadata?: Record<string, unknown>;
      deploymentId?: string;
      /** [events] false: start even a workflow this process's code lacks (a `trigger()` of another service). */
      checkRegistered?: boolean;
      /** [flow control] What the run is subject to (recorded as `metadata.flow`), from `start()`'s workflow function. */
      flow?: FlowSpec;
    } = {},
  ): Promise<string> {
    const onConflict = opts.onConflict ?? "use-existing";
    if (onConflict !== "use-existing" && onConflict !== "fail") {
      throw new TypeError(
        `start(): onConflict must be "use-existing" or "fail", got ${JSON.stringify(onConflict)}.`,
      );
    }
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
    const executes = this.executes;
    if (this.executeRuns && !executes) this.warnNoCode();
    // A process that will drive the run knows its code: an ID the code lacks is refused now, instead of a run
    // that no process can ever execute.
    if (executes && this.checkWorkflowIds && opts.checkRegistered !== false)
      await this.checkRegistered(workflowName);
    const world = await this.world();
    const flow =
      opts.flow && (flowSpecOf({ flow: opts.flow }) || opts.flow.priority !== undefined)
        ? opts.flow
        : undefined;
    if (flow && flowSpecOf({ flow })) gatesOrThrow(world, `start(${workflowName}) with flow control`);
    if (flow?.debounce) {
      // A start within the debounce period joins the run that has not started yet: it gets that run, whose
      // arguments become these. Only the first start of a burst creates a run.
      const { gate, periodMs } = flow.debounce;
      const gates = gatesOrThrow(world, "debounce");
      for (;;) {
        const now = this.now();
        const joined = await gates.updateFlowGate(gate, (raw) =>
          joinDebounce(raw, { runId, input, periodMs, now }),
        );
        if (joined.created) break;
        // A pending run that was cancelled meanwhile is no run to join: forget it and start a new burst.
        const pending = await world.getRun(joined.runId);
        if (!pending || !TERMINAL_RUN_STATUSES.includes(pending.status)) {
          stored(false);
          return joined.runId;
        }
        await gates.updateFlowGate(gate, (raw) => dropWaiters(raw, [joined.runId]));
      }
    }
    // The world announces the new run synchronously inside createRun; `listen()` must not pick it up twice.
    this.creating.add(runId);
    let created: Awaited<ReturnType<World["createRun"]>>;
    try {
      // This process executes the run next, so the lease is taken in the same write as the run.
      const lease = executes ? { owner: this.ownerId, ttlMs: this.leaseTtlMs } : undefined;
      // Whichever process executes the run continues the trace active here (see observability/tracing.ts).
      const traceparent = currentTraceparent();
      const metadata = {
        ...opts.metadata,
        ...(traceparent ? { traceparent } : {}),
        ...(flow ? { flow } : {}),
      };
      created = await world.createRun({
        runId,
        workflowName,
        input,
        ...(opts.deploymentId !== undefined ? { deploymentId: opts.deploymentId } : {}),
        ...(Object.keys(metadata).length > 0 ? { metadata } : {}),
        ...(lease ? { lease } : {}),
      });
      stored(true);
    } catch (error) {
      stored(false);
      if (opts.runId !== undefined && isWorldError(error, "APPEND_CONFLICT")) {
        const existing = await world.getRun(runId);
        if (existing && existing.workflowName === workflowName && onConflict === "use-existing") return runId;
        throw new RunAlreadyExistsError(runId, workflowName, existing?.workflowName);
      }
      throw error;
    } finally {
      this.creating.delete(runId);
    }
    if (executes) void this.drive(runId, { events: created.events, lease: created.lease });
    return runId;
  }

  /**
   * Whether this process executes runs: not with `executeRuns: false` (`WORKFLOW_EXECUTE_RUNS=0`), and not without
   * workflow code (no code provider). Only such a process ever takes a run's lease; any other records what it has
   * (a new run, a hook payload, a cancellation) and leaves the run to the processes that execute it.
   */
  get executes(): boolean {
    return this.executeRuns && this.codeProvider !== undefined && !this.closed;
  }

  private warnNoCode(): void {
    if (this.warnedNoCode) return;
    this.warnedNoCode = true;
    log.warn(
      "this process has no workflow code, so the runs it starts wait for a process that has it (a worker, " +
        "`wf worker`, or the app started with `node --import workflow/register` or a bundler plugin). Set " +
        "WORKFLOW_EXECUTE_RUNS=0 to say that this is intended.",
    );
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
        if (n.kind === "delivered") return; // watchWorld drives it, in every engine that executes runs
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
  async drive(runId: string, opts: DriveOptions = {}): Promise<boolean> {
    if (!this.executes) return false;
    const { events: knownEvents, lease: heldLease, retryIfHeld = true } = opts;
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
      this.ensureSweep();
      this.useStepTasks(world);
      // A lease taken with the run is used as is unless admission made us wait (it may have expired since).
      lease = heldLease && !turn ? heldLease : await world.acquireLease(runId, this.ownerId, this.leaseTtlMs);
      if (!lease) {
        // Another executor holds it. If that executor died, its lease expires: try again then, so a run
        // interrupted by a crash is taken over without waiting for the next process start.
        if (retryIfHeld) this.retryAfterLease(runId);
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
      if (!live && events.length === 1 && forkSource(events[0]!)) {
        // A fork's first executor copies the reused history in, under its lease (whoever drives it first).
        events = await this.copyForkHistory(world, runId, events[0]!, lease);
      }
      const last = events.at(-1);
      if (!live) {
        const first = events[0];
        if (first?.type !== "run_created" || isTerminal(last!)) {
          await world.releaseLease(lease);
          return false;
        }
      }
      // [flow control] A run under a concurrency limit, throttle or debounce executes only once its gates admit it.
      const flow = live
        ? live.flow
        : flowSpecOf((events[0]?.data as { metadata?: Record<string, unknown> })?.metadata);
      let startInput: string | undefined;
      if (flow && !this.flow.holds(runId)) {
        const started = live ? live.instance.runStartedLogged : events.some((e) => e.type === "run_started");
        const admission = await this.flow.admit(world, runId, flow, started);
        if (!admission.admitted) {
          await world.releaseLease(lease);
          lease = undefined;
          this.flowRefused(runId, admission);
          return false;
        }
        startInput = admission.input;
      }
      // Also for runs without flow settings of their own: a fork of a debounced run copies its run_started.
      if (!live) events = withStartInput(events, startInput);
      if (!live) {
        const first = events[0]!;
        if (first.type !== "run_created") throw new Error("unreachable: checked above");
        let instance: WorkflowInstance;
        try {
          instance = new WorkflowInstance({
            runId,
            workflowName: first.data!.workflowName,
            script: await this.load(first.data!.workflowName),
            timeLimitMs: this.workflowCodeTimeoutMs,
          });
          this.codeBackoff.delete(runId);
        } catch (error) {
          // This process cannot load the run's code (a worker of another version, a build in progress, a
          // workflow renamed since the run started). That says nothing about the run, so nothing is recorded:
          // the run stays for a process that has its code, and this one tries again later (backing off).
          await world.releaseLease(lease);
          lease = undefined;
          void this.flow.release(world, runId);
          this.codeUnavailable(runId, error);
          return false;
        }
        live = new LiveRun(this, instance, 0);
        live.flow = flow;
        live.traceparent = (first.data!.metadata as { traceparent?: unknown } | undefined)?.traceparent;
        if (events.length > 1) this.stats.replays++;
      }
      if (last) live.committedSeq = last.seq;
      if (startInput !== undefined) live.startInput = startInput;
      live.activate(lease);
      if (!live.segment && tracingActive())
        live.segment = startRunSpan({
          runId,
          workflowName: live.instance.workflowName,
          traceparent: live.traceparent,
        });
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
      if (!this.live.get(runId)?.active) void this.flow.release(await this.world(), runId);
      return false;
    } finally {
      if (admitted) this.admission.release();
      const retrigger = this.driving.get(runId);
      this.driving.delete(runId);
      if (retrigger) queueMicrotask(() => void this.drive(runId, { retryIfHeld }));
    }
  }

  /** Reports that this process has no usable code for a run, once per back-off step, and tries again later. */
  private codeUnavailable(runId: string, error: unknown): void {
    const wait = this.codeBackoff.get(runId) ?? 1_000;
    this.codeBackoff.set(runId, Math.min(wait * 2, 60_000));
    this.onError(
      Object.assign(
        new Error(
          `Run ${runId} was left for another process: this one cannot load its workflow code (trying again in ${wait} ms). ` +
            `${(error as Error)?.message ?? String(error)}`,
          { cause: error },
        ),
        { code: "WORKFLOW_CODE_UNAVAILABLE" },
      ),
      runId,
    );
    this.wakeTimers.after(runId, wait, () => void this.drive(runId, { retryIfHeld: false }));
  }

  /** Rejects with `WorkflowNotRegisteredError` when this process's workflow code does not define the ID. */
  private async checkRegistered(workflowName: string): Promise<void> {
    if (!this.codeProvider) return;
    let code: string;
    try {
      code = (await this.codeProvider.getWorkflowBundle(workflowName)).code;
    } catch (error) {
      throw new WorkflowNotRegisteredError(workflowName, {
        cause: error,
        detail: `Loading its code failed: ${error instanceof Error ? error.message : String(error)}`,
      });
    }
    // Providers hand out the same bundle string until a rebuild: an ID found in it once is not searched again.
    if (this.registeredIds?.code === code && this.registeredIds.ids.has(workflowName)) return;
    // The bundle registers each workflow under its ID as a string literal: no literal, no registration.
    // A run recorded before WDK's ID scheme names it the earlier way (legacy-ids.ts).
    if (!code.includes(workflowName) && !currentIdPattern(workflowName)?.test(code)) {
      throw new WorkflowNotRegisteredError(workflowName, {
        detail: "The workflow bundle of this process does not define it.",
      });
    }
    if (this.registeredIds?.code !== code) this.registeredIds = { code, ids: new Set() };
    this.registeredIds.ids.add(workflowName);
  }

  /** IDs `checkRegistered` found in the latest bundle it searched. */
  private registeredIds: { code: string; ids: Set<string> } | undefined;

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
          firstStartedAt: op.firstStartedAt,
          workflowName: instance.workflowName,
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
    const began = this.now();
    // Without an OpenTelemetry SDK the step runs as it is: no span objects, no context switch on the hot path.
    const span = tracingActive()
      ? startStepSpan(this.live.get(step.runId)?.segment ?? (await this.remoteParent(step.runId)), {
          runId: step.runId,
          stepId: step.correlationId,
          stepName: step.stepName,
          attempt: step.attempt,
        })
      : undefined;
    const result = span
      ? await withSpan(span, () => this.runBodyIn(step, signal))
      : await this.runBodyIn(step, signal);
    const error = result.ok ? undefined : result.error;
    if (span) endStepSpan(span, result.ok, error);
    if (isLogged("debug")) {
      log.debug("step attempt", {
        runId: step.runId,
        stepId: step.correlationId,
        stepName: step.stepName,
        attempt: step.attempt,
        ok: result.ok,
        durationMs: this.now() - began,
        ...(result.ok ? {} : { errorCode: errorCode(error) }),
      });
    }
    return result;
  }

  /**
   * A step span's parent when the run is driven elsewhere (a step task): the trace context its `start()` recorded,
   * read once per run while tracing is on.
   */
  private async remoteParent(runId: string) {
    let traceparent = this.traceparents.get(runId);
    if (traceparent === undefined) {
      const run = await (await this.world()).getRun(runId).catch(() => undefined);
      traceparent = String((run?.metadata as { traceparent?: unknown } | undefined)?.traceparent ?? "");
      if (this.traceparents.size >= 1_000) this.traceparents.clear();
      this.traceparents.set(runId, traceparent);
    }
    return contextOf(traceparent);
  }

  private async runBodyIn(step: StepTask, signal?: AbortSignal): Promise<StepResult> {
    let fn: unknown;
    try {
      if (this.codeProvider) await this.codeProvider.loadStep(step.stepName);
      fn = lookupFunction(stepRegistry(), step.stepName);
      if (typeof fn !== "function")
        return { ok: false, error: new StepNotRegisteredError(step.stepName), maxRetries: 0 };
      const input = withStreamScope(this.streamScope(step.runId), () => deserialize(step.input)) as StepInput;
      const firstStartedAt = step.firstStartedAt ?? (await this.firstStartOf(step)) ?? Date.now();
      this.stats.stepAttempts++;
      const body = fn as (...a: unknown[]) => unknown;
      const timeoutMs = timeoutOf(fn, step.stepName);
      const timeout = timeoutMs === undefined ? undefined : new AbortController();
      const attemptSignal = timeout
        ? signal
          ? AbortSignal.any([signal, timeout.signal])
          : timeout.signal
        : signal;
      const running = stepContext.run(
        {
          stepId: `${step.runId}/${step.correlationId}`,
          stepName: step.stepName,
          stepStartedAt: new Date(firstStartedAt),
          attempt: step.attempt,
          closure: input.closure,
          workflowRunId: step.runId,
          workflowName: step.workflowName ?? "",
          workflowStartedAt: new Date(step.runStartedAt),
          signal: attemptSignal,
          world: () => this.world(),
          startRun: (workflowId, args, opts) => this.start(workflowId, args, opts),
          emit: (name, data, opts) => emitEvent(this, name, data, opts),
        },
        () => body.apply(input.self, input.args),
      );
      const value = timeout
        ? await withTimeout(Promise.resolve(running), timeout, timeoutMs!, step)
        : await running;
      return { ok: true, value };
    } catch (error) {
      return { ok: false, error, maxRetries: maxRetriesOf(fn) };
    }
  }

  /**
   * When a retried step's first attempt started, for a task from a world that does not store it (step tasks of
   * SQLite, Postgres, Redis): read from the run's log. Only retries pay the read; a first attempt starts now.
   */
  private async firstStartOf(step: StepTask): Promise<number | undefined> {
    if (step.attempt <= 1) return undefined;
    try {
      const events = await (await this.world()).readEvents(step.runId);
      return events.find((e) => e.type === "step_started" && e.correlationId === step.correlationId)
        ?.createdAt;
    } catch {
      return undefined; // the attempt's own start is the fallback
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
    this.endSegment(live, "suspended");
    this.releaseSlot(live);
    this.releaseFlowSlot(live.runId);
    this.touch(live);
    this.evictIdle();
  }

  dropped(live: LiveRun, redriveAfterMs?: number): void {
    const ended = live.endedWith?.type.replace("run_", "");
    const cancelled = live.finishReason instanceof WorkflowRunCancelledError;
    this.endSegment(live, ended ?? (cancelled ? "cancelled" : "released"));
    this.releaseSlot(live);
    this.releaseFlowSlot(live.runId);
    if (this.live.get(live.runId) === live) this.live.delete(live.runId);
    if (redriveAfterMs !== undefined) {
      this.wakeTimers.after(live.runId, redriveAfterMs, () => void this.drive(live.runId));
    }
  }

  /**
   * This process stops driving the run for now (suspended, ended, lost): ends its segment span, and logs a run's
   * end at info.
   */
  private endSegment(live: LiveRun, status: string): void {
    const error =
      status === "failed"
        ? deserializeErrorSafely((live.endedWith?.data as { error?: string } | undefined)?.error)
        : undefined;
    if (live.segment) {
      endRunSpan(live.segment, status, error);
      live.segment = undefined;
    }
    if (status === "completed" || status === "failed" || status === "cancelled") {
      const startedAt = live.instance.startedAt;
      log.info(`run ${status}`, {
        runId: live.runId,
        workflowName: live.instance.workflowName,
        ...(startedAt ? { durationMs: this.now() - startedAt } : {}),
        ...(error ? { errorCode: errorCode(error) } : {}),
      });
    }
  }

  /** [flow control] The run stops executing here: its concurrency slot (if any) goes to the next waiter. */
  private releaseFlowSlot(runId: string): void {
    if (!this.flow.holds(runId)) return;
    const released = this.world().then((world) => this.flow.release(world, runId));
    this.flowReleases.add(released);
    void released.finally(() => this.flowReleases.delete(released));
  }

  /** [flow control] Resolves once every slot this engine gave back is written (a process about to end waits). */
  async flowSettled(): Promise<void> {
    while (this.flowReleases.size > 0) await Promise.allSettled([...this.flowReleases]);
  }

  /**
   * [flow control] A run that a freed slot, a past throttle period or an ended debounce now lets go on: driven
   * here, where the lease decides who takes it. A serverless invocation sends it a queue message instead.
   */
  protected kickFlowWaiter(runId: string): void {
    if (!this.live.get(runId)?.active && !this.driving.has(runId))
      void this.drive(runId, { retryIfHeld: false });
  }

  /**
   * [flow control] The run's gates refused it for now. It waits in the gate, and is driven again by whoever frees
   * its slot, by the sweep, and (throttle, debounce) at `retryAt` by a timer here.
   */
  protected flowRefused(runId: string, admission: { waitingFor: WaitingFor; retryAt?: number }): void {
    if (admission.retryAt !== undefined) this.wakeTimers.set(runId, admission.retryAt);
  }

  /** [flow control] Why the run waits on a flow gate (throttled, debounced, concurrency), if it does. */
  async waitingFor(record: RunRecord): Promise<WaitingFor | undefined> {
    return FlowControl.waitingFor(await this.world(), record);
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
    if (record) await this.runEndedElsewhere(record);
    return true;
  }

  /**
   * A run ended (its executor committed the end, or it was cancelled from outside): its parent, if it is a child,
   * hears its outcome (through the parent's child hook, idempotently); its children whose close policy is `cancel`
   * are cancelled, down the tree. Best effort: a parent also checks its children whenever it is driven.
   */
  async runEndedElsewhere(record: RunRecord): Promise<void> {
    try {
      const parent = (record.metadata as { parent?: ParentLink } | undefined)?.parent;
      if (parent?.token) await this.notifyParent(record, parent.token);
      await this.closeChildren(record.runId, `parent run ${record.runId} ended (${record.status})`);
    } catch (error) {
      this.onError(error, record.runId);
    }
  }

  /** Delivers a child's outcome to its parent's child hook; nothing when the parent is gone or no longer waits. */
  private async notifyParent(child: RunRecord, token: string): Promise<void> {
    const payload = childOutcome(child);
    try {
      await this.resumeHook(token, payload, "hook", `child_end_${child.runId}`);
    } catch (error) {
      if (!HookNotFoundError.is(error)) throw error;
    }
  }

  /** EngineContext: a run's end was committed here (or a child of a run held here was seen to end). */
  runEnded(runId: string): void {
    void this.world()
      .then((world) => world.getRun(runId))
      .then((record) => (record ? this.runEndedElsewhere(record) : undefined))
      .catch((error) => this.onError(error, runId));
  }

  /** Cancels the unfinished children of `runId` that were started with `parentClosePolicy: "cancel"`. */
  private async closeChildren(runId: string, reason: string): Promise<void> {
    const world = await this.world();
    const hooks = await world.listHooks(runId).catch(() => []);
    for (const hook of hooks) {
      if (!hook.token.startsWith(CHILD_TOKEN_PREFIX)) continue;
      const childId = hook.token.slice(CHILD_TOKEN_PREFIX.length);
      const child = await world.getRun(childId);
      if (!child || TERMINAL_RUN_STATUSES.includes(child.status)) continue;
      const policy = (child.metadata as { parent?: ParentLink } | undefined)?.parent?.parentClosePolicy;
      if (policy === "abandon") continue;
      await this.cancel(childId, reason);
    }
  }

  /**
   * Answers `run.query(name, ...args)`: from this process's live instance of the run when it is at the log head,
   * otherwise from a replay of the log into a fresh sandbox (which records and executes nothing). Needs the run's
   * workflow code in this process.
   */
  async queryRun(runId: string, name: string, args: unknown[]): Promise<unknown> {
    const world = await this.world();
    const record = await world.getRun(runId);
    if (!record) throw new WorkflowRunNotFoundError(runId);
    const input = serialize(args, { path: `query "${name}" arguments` });
    const live = this.live.get(runId);
    if (live && !live.detached && live.committedSeq === record.lastSeq && live.idleAtHead) {
      return deserialize(live.instance.query(name, input));
    }
    const events = await world.readEvents(runId);
    const instance = new WorkflowInstance({
      runId,
      workflowName: record.workflowName,
      script: await this.load(record.workflowName),
      timeLimitMs: this.workflowCodeTimeoutMs,
    });
    instance.replaying = true;
    instance.preload(events);
    for (const event of events) await instance.apply(event);
    return deserialize(instance.query(name, input));
  }

  /**
   * Replays a recorded log (`wf export`, or a run of the world) against this engine's workflow code without
   * executing or recording anything, and reports whether the code follows the log (see `replay-check.ts`).
   */
  async replayLog(subject: ReplaySubject): Promise<ReplayReport> {
    return replayAgainst(await this.load(subject.workflowName), subject, {
      timeLimitMs: this.workflowCodeTimeoutMs,
    });
  }

  /**
   * `run.wakeUp()`: completes the run's pending sleeps now (all, or those whose correlation IDs are given) and
   * returns how many. This process takes the run up (it needs its workflow code) and moves the sleeps' wake-up to
   * the present, so `wait_completed` is recorded through the run's own driver like any sleep that came due. Resolves
   * once those `wait_completed` events are in the log.
   */
  async wakeUp(runId: string, correlationIds?: readonly string[]): Promise<{ stoppedCount: number }> {
    const world = await this.world();
    const record = await world.getRun(runId);
    if (!record) throw new WorkflowRunNotFoundError(runId);
    const pending = (await world.listWaits(runId)).filter(
      (w) => w.status === "waiting" && (!correlationIds || correlationIds.includes(w.waitId)),
    );
    if (pending.length === 0 || TERMINAL_RUN_STATUSES.includes(record.status)) return { stoppedCount: 0 };
    if (!this.live.has(runId)) {
      await this.drive(runId);
      // Replaying may itself complete the sleeps that were already due; wait for the instance to exist.
      for (let i = 0; i < 200 && !this.live.has(runId) && this.driving.has(runId); i++) {
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    const live = this.live.get(runId);
    if (!live) {
      throw new Error(
        `wakeUp(): run ${runId} is driven by another process (or this one cannot load its workflow code), so its ` +
          "sleeps cannot be moved from here. Call wakeUp() from a process that executes the run.",
      );
    }
    // Through the run's serial queue: a replay in progress there must finish before the sleeps exist. Then the
    // run is driven as for any wake-up (an idle instance takes its lease again) and records the sleeps' end.
    const stopped = new Set<string>();
    await live.enqueue(() => {
      const now = this.now();
      for (const wait of pending) {
        const op = live.instance.ops.get(wait.waitId);
        if (op?.kind !== "wait") continue;
        if (op.resumeAt === undefined || op.resumeAt > now) op.resumeAt = now;
        stopped.add(wait.waitId);
      }
    });
    await this.drive(runId);
    // Resolve once the sleeps' ends are recorded, so that what the caller reads next (the run's events, the next
    // pending sleep as `waitForSleep()` finds it) already shows them woken.
    const deadline = Date.now() + 30_000;
    while (stopped.size > 0 && Date.now() < deadline) {
      const run = await world.getRun(runId);
      if (!run || run.status === "paused" || TERMINAL_RUN_STATUSES.includes(run.status)) break;
      const waiting = (await world.listWaits(runId)).filter(
        (w) => w.status === "waiting" && stopped.has(w.waitId),
      );
      if (waiting.length === 0) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    return { stoppedCount: stopped.size };
  }

  /**
   * Re-drives a failed run from the step failures it did not survive, keeping every completed step: appends
   * `run_retried` (see `retryPlan`), then the run is due, and any executing process (this one first) takes it up.
   * Refused for a run that is not failed; two operators retrying at once retry it once.
   */
  async retryRun(runId: string, opts: { reason?: string } = {}): Promise<void> {
    const world = await this.world();
    for (;;) {
      const run = await world.getRun(runId);
      if (!run) throw new WorkflowRunNotFoundError(runId);
      if (run.status !== "failed") throw new RunNotRetryableError(runId, run.status);
      const plan = retryPlan(await world.readEvents(runId));
      const data = opts.reason === undefined ? plan : { ...plan, reason: opts.reason };
      try {
        await world.append(runId, run.lastSeq, [{ type: "run_retried", data }]);
        break;
      } catch (error) {
        if (isWorldError(error, "APPEND_CONFLICT")) continue;
        throw error;
      }
    }
    if (this.executes) void this.drive(runId, { retryIfHeld: false });
  }

  /**
   * Pauses a run: appends `run_paused` (no lease needed; the executor, wherever it is, appends its own batch after
   * it). From then on the run starts no step and fires no wake-up; steps already running finish and are recorded.
   * Pausing a paused run does nothing; an ended run is refused with `RunFinishedError`.
   */
  async pauseRun(runId: string, opts: { reason?: string } = {}): Promise<void> {
    await this.appendControl(runId, (status) => {
      if (status === "paused") return undefined;
      return { type: "run_paused", data: opts.reason === undefined ? {} : { reason: opts.reason } };
    });
  }

  /**
   * Resumes a paused run where it stopped: appends `run_resumed`; the run is then due at once, so this process
   * (when it executes runs) or any executing process's sweep continues it. Resuming a run that is not paused does
   * nothing; an ended run is refused with `RunFinishedError`.
   */
  async resumeRun(runId: string): Promise<void> {
    const appended = await this.appendControl(runId, (status) =>
      status === "paused" ? { type: "run_resumed" } : undefined,
    );
    if (appended && this.executes) void this.drive(runId, { retryIfHeld: false });
  }

  /** Appends the control event `make` decides on for the run's current status (retrying on conflicts). */
  private async appendControl(
    runId: string,
    make: (status: RunRecord["status"]) => NewEvent | undefined,
  ): Promise<boolean> {
    const world = await this.world();
    for (;;) {
      const run = await world.getRun(runId);
      if (!run) throw new WorkflowRunNotFoundError(runId);
      if (TERMINAL_RUN_STATUSES.includes(run.status)) throw new RunFinishedError(runId, run.status);
      const event = make(run.status);
      if (!event) return false;
      try {
        await world.append(runId, run.lastSeq, [event]);
        return true;
      } catch (error) {
        if (isWorldError(error, "APPEND_CONFLICT")) continue;
        throw error;
      }
    }
  }

  /**
   * Starts a new run of the same workflow and input that reuses the original's recorded results up to `fromStep`
   * (its correlation ID, or a step ID for its first call) and executes from there; without `fromStep`, from where
   * the original stopped. The new run's `run_created` names its source (`metadata.forkedFrom`); its first
   * executor copies the history in (`forkPrefix`). Returns the new run's ID.
   */
  async forkRun(runId: string, opts: { fromStep?: string; runId?: string } = {}): Promise<string> {
    const world = await this.world();
    const source = await world.getRun(runId);
    if (!source) throw new WorkflowRunNotFoundError(runId);
    // Checked now, so that a bad step is the caller's error rather than the new run's.
    const prefix = forkPrefix(await world.readEvents(runId), { fromStep: opts.fromStep });
    const forkedFrom: ForkOrigin = { runId, atSeq: source.lastSeq, copied: prefix.length };
    if (opts.fromStep !== undefined) forkedFrom.fromStep = opts.fromStep;
    const newRunIdValue = opts.runId ?? newRunId();
    const executes = this.executes;
    this.creating.add(newRunIdValue);
    let created: Awaited<ReturnType<World["createRun"]>>;
    try {
      created = await world.createRun({
        runId: newRunIdValue,
        workflowName: source.workflowName,
        input: source.input,
        metadata: { ...(source.metadata ?? {}), forkedFrom },
        ...(executes ? { lease: { owner: this.ownerId, ttlMs: this.leaseTtlMs } } : {}),
      });
    } finally {
      this.creating.delete(newRunIdValue);
    }
    if (executes) void this.drive(newRunIdValue, { events: created.events, lease: created.lease });
    return newRunIdValue;
  }

  /**
   * `fork` from `toStep`, after cancelling the original with the new run's ID as the reason (so hooks with
   * chosen tokens are free for the new run). Returns the new run's ID.
   */
  async rewindRun(runId: string, opts: { toStep: string }): Promise<string> {
    const world = await this.world();
    // Validates the step before anything changes.
    forkPrefix(await world.readEvents(runId), { fromStep: opts.toStep });
    const newId = newRunId();
    const run = await world.getRun(runId);
    if (run && !TERMINAL_RUN_STATUSES.includes(run.status)) await this.cancel(runId, `rewound to ${newId}`);
    return this.forkRun(runId, { fromStep: opts.toStep, runId: newId });
  }

  /** The history a fork reuses, appended as the new run's first batch (or read back if another executor did). */
  private async copyForkHistory(
    world: World,
    runId: string,
    created: WorkflowEvent,
    lease: Lease,
  ): Promise<WorkflowEvent[]> {
    const origin = forkSource(created)!;
    const prefix = forkPrefix(
      (await world.readEvents(origin.runId)).filter((e) => e.seq <= origin.atSeq),
      { fromStep: origin.fromStep },
    );
    if (prefix.length === 0) return [created];
    try {
      const appended = await world.append(runId, 1, prefix, { lease });
      return [created, ...appended.events];
    } catch (error) {
      if (!isWorldError(error, "APPEND_CONFLICT")) throw error;
      return world.readEvents(runId);
    }
  }

  /**
   * One subscription per engine, made when it first drives a run or sweeps: runs cancelled by another process (or
   * another engine on this world) while their step bodies run here have their AbortSignals fired at once instead of
   * when the next append is refused; and a delivery recorded for a run (a hook payload, by any process) is
   * consumed: by the live instance when this process drives the run, otherwise by whichever executing process
   * takes the lease first. The sweep (`sweepIntervalMs`) covers what no notification announces.
   */
  private watchWorld(world: World): void {
    if (this.unwatchWorld || this.closed) return;
    this.unwatchWorld = world.subscribe((n) => {
      if (n.kind === "delivered") {
        if (!this.creating.has(n.runId)) void this.drive(n.runId, { retryIfHeld: false });
        return;
      }
      // Someone else appended to a run this process holds idle (a resume, a retry): continue it from the cache.
      const idle = this.live.get(n.runId);
      if (n.kind === "appended" && idle && !idle.active && !idle.detached && !this.driving.has(n.runId)) {
        void this.drive(n.runId, { retryIfHeld: false });
        return;
      }
      if (n.kind !== "finished" && !TERMINAL_RUN_STATUSES.includes(n.status)) return;
      // A child of a run held here ended: make sure the parent hears it (its executor normally reports it).
      for (const parent of this.live.values()) {
        if (parent.instance.pendingChildren().some((c) => c.runId === n.runId)) this.runEnded(n.runId);
      }
      const live = this.live.get(n.runId);
      if (!live || live.detached) return;
      if (n.status !== "cancelled") return;
      void world.getRun(n.runId).then(
        (record) => this.live.get(n.runId)?.finish(cancelledError(n.runId, record)),
        (error) => this.onError(error, n.runId),
      );
    });
    this.ensureSweep();
  }

  /** [schedules] This engine's scheduler, started if it executes runs (`schedule()` pokes it). */
  schedules(): Scheduler | undefined {
    if (!this.scheduler && this.executes) {
      this.scheduler = new Scheduler(this);
      this.scheduler.start();
    }
    return this.scheduler;
  }

  private ensureSweep(): void {
    this.schedules();
    if (this.sweepTimer || this.closed || this.sweepIntervalMs === false || !this.executes) return;
    this.sweepTimer = setInterval(() => void this.sweep(), this.sweepIntervalMs);
    this.sweepTimer.unref();
  }

  /**
   * Drives runs that need an executor and that nothing brought to this process: pending deliveries older than
   * a moment (a notified executor normally consumes them at once), wake-ups due a moment ago (their owner's
   * timer normally fires first), and runs whose executor died with work in flight (lease expired while held).
   * The lease decides who drives each; losers do no work.
   */
  async sweep(): Promise<void> {
    if (this.sweeping || !this.executes) return;
    this.sweeping = true;
    try {
      const world = await this.world();
      const now = this.now();
      const grace = Math.min(1_000, this.sweepIntervalMs === false ? 1_000 : this.sweepIntervalMs);
      const runs = new Set<string>();
      for (const r of await world.listDeliveryRuns(now - grace, SWEEP_BATCH)) runs.add(r.runId);
      for (const r of await world.listDue(now - grace, SWEEP_BATCH)) runs.add(r.runId);
      for (const r of await world.listAbandoned(now, SWEEP_BATCH)) runs.add(r.runId);
      for (const runId of runs) {
        if (this.live.get(runId)?.active || this.driving.has(runId) || this.codeBackoff.has(runId)) continue;
        void this.drive(runId, { retryIfHeld: false });
      }
      // [flow control] Waiters that freed capacity covers (a slot of a dead process expired, a period passed).
      await this.flow.sweep(
        world,
        (runId) => runs.has(runId) || !!this.live.get(runId)?.active || this.driving.has(runId),
      );
    } catch (error) {
      this.onError(error, "(sweep)");
    } finally {
      this.sweeping = false;
    }
  }

  /**
   * Delivers a payload to the live hook holding `token` and resolves once it is durable. Refused with
   * `HookNotFoundError` when no live hook holds the token. `kind` restricts which hooks may be resumed this way (a
   * plain hook is not resumable through the webhook URL).
   *
   * When this process drives the run at this moment, the payload goes through the live run's own group commit, so
   * the running instance sees it exactly where the log records it. Otherwise it is recorded as a delivery: no
   * lease, no append to the log, so it never disturbs the executor (wherever it runs) and needs no workflow code
   * here. The executor, notified by the world, consumes it; the sweep of every executing process is the safety net.
   * `deliveryId` makes a retried call idempotent (the same ID is delivered once).
   */
  async resumeHook(
    token: string,
    payload: unknown,
    kind?: "hook" | "webhook",
    deliveryId: string = newDeliveryId(),
  ): Promise<HookRecord> {
    if (!checkHookToken(token)) throw new HookNotFoundError(String(token));
    const world = await this.world();
    const hook = await world.getHookByToken(token);
    if (!hook || (kind !== undefined && hook.kind !== kind)) throw new HookNotFoundError(token);
    const data = { payload: serialize(payload, { path: "hook payload" }) };
    const live = this.live.get(hook.runId);
    if (live?.active && !live.detached) {
      const delivered = await live.deliver({
        type: "hook_received",
        correlationId: hook.hookId,
        data: { ...data, deliveryId },
      });
      if (delivered) return hook;
    }
    await retryTransient(async () => {
      try {
        await world.deliver(hook.runId, {
          deliveryId,
          event: { type: "hook_received", correlationId: hook.hookId, data },
        });
      } catch (error) {
        if (isWorldError(error, "RUN_FINISHED") || isWorldError(error, "RUN_NOT_FOUND")) {
          throw new HookNotFoundError(token);
        }
        throw error;
      }
    });
    return hook;
  }

  /**
   * After a restart: takes over unfinished runs whose lease is free or expired (replaying them, restarting
   * interrupted steps, arming their wake-ups). Returns how many runs this process now drives.
   */
  async resumePendingRuns(): Promise<number> {
    if (!this.executes) return 0;
    const world = await this.world();
    this.ensureSweep();
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
    this.unwatchWorld?.();
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.scheduler?.stop();
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
    // [flow control] Concurrency slots expire with the lease of the run holding them, and are renewed with it.
    await this.flow.renew(
      world,
      [...this.live.values()].filter((l) => l.lease).map((l) => l.runId),
    );
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

/** `myStep.timeout` ("30s", ms) in ms, or undefined when the step has none. */
function timeoutOf(fn: unknown, stepName: string): number | undefined {
  const raw = (fn as { timeout?: unknown } | undefined)?.timeout;
  if (raw === undefined || raw === null) return undefined;
  const ms = parseDuration(raw as string | number, `${stepName}.timeout`);
  if (!(ms > 0))
    throw new TypeError(`${stepName}.timeout must be a positive duration ("30s", 5000), got ${String(raw)}.`);
  return ms;
}

/**
 * The body's result, or `StepTimeoutError` once `ms` pass: the attempt's signal fires with that error and whatever
 * the body returns later is dropped (its attempt has already been decided).
 */
function withTimeout<T>(
  running: Promise<T>,
  controller: AbortController,
  ms: number,
  step: { stepName: string; attempt: number },
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      const error = new StepTimeoutError(step.stepName, ms, step.attempt);
      controller.abort(error);
      reject(error);
    }, ms);
    running.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** Runs a sweep hands to the lease race at most, per kind of work. */
const SWEEP_BATCH = 200;

/**
 * Calls `fn` again after a failure that is not the world's verdict (a dropped connection, a full disk that
 * recovers): the call must be idempotent. A `WorldError` or an error `fn` raised itself is final.
 */
async function retryTransient<T>(
  fn: () => Promise<T>,
  delays: readonly number[] = [50, 250, 1_000],
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      const final =
        attempt >= delays.length ||
        isWorldError(error) ||
        (error as { name?: string })?.name === "HookNotFoundError";
      if (final) throw error;
      await new Promise((resolve) => setTimeout(resolve, delays[attempt]));
    }
  }
}

/** A recorded error for logs and spans; a value that cannot be read is reported as such rather than thrown. */
function deserializeErrorSafely(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return deserializeError(text);
  } catch (error) {
    return error;
  }
}

function cancelledError(runId: string, record: RunRecord | undefined): WorkflowRunCancelledError {
  return new WorkflowRunCancelledError(runId, record?.cancelReason);
}

/** Where a fork came from: `run_created.data.metadata.forkedFrom`. */
export interface ForkOrigin {
  runId: string;
  /** The source's last seq when the fork was made: the copy never reads beyond it. */
  atSeq: number;
  fromStep?: string;
  /** Events the fork reuses (for operators; the copy recomputes them). */
  copied: number;
}

function forkSource(event: WorkflowEvent): ForkOrigin | undefined {
  if (event.type !== "run_created") return undefined;
  const origin = (event.data?.metadata as { forkedFrom?: ForkOrigin } | undefined)?.forkedFrom;
  return origin && typeof origin.runId === "string" && typeof origin.atSeq === "number" ? origin : undefined;
}

/** What a child's parent hook receives when the child ends (values stay serialized until the parent's realm). */
function childOutcome(run: RunRecord): { status: string; output?: string; error?: string; reason?: string } {
  if (run.status === "completed") return { status: "completed", output: run.output ?? "" };
  if (run.status === "cancelled")
    return { status: "cancelled", ...(run.cancelReason ? { reason: run.cancelReason } : {}) };
  return { status: "failed", error: run.error ?? "" };
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
function sweepIntervalFromEnv(): number | false | undefined {
  const raw = process.env.WORKFLOW_SWEEP_INTERVAL_MS;
  if (raw === undefined || raw === "") return undefined;
  if (raw === "0") return false;
  const ms = Number(raw);
  if (!Number.isFinite(ms) || ms < 50) {
    throw new Error(
      `WORKFLOW_SWEEP_INTERVAL_MS must be a number of milliseconds ≥ 50 (or 0 for none), got "${raw}".`,
    );
  }
  return ms;
}

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
