/**
 * Serverless execution: a run driven by invocations of a stateless, time-bounded function (a queue consumer on
 * Vercel). One invocation takes the run's lease, replays its log once, then runs steps inline (the live sandbox
 * stays, no replay between steps) while its budget lasts. It ends when the run ends or waits (a sleep, a retry
 * back-off, a hook), and hands off through the queue before the budget ends: no step starts in the last part of
 * the budget, and whatever still runs at the hand-off is left to the next invocation, which restarts it from the
 * log (a step body runs at least once, its result is recorded once). An invocation that is killed loses nothing:
 * its queue message is not acknowledged, so the queue delivers it again, and the next invocation takes the run
 * over once the dead one's lease expires.
 */
import type { Lease, RunRecord, RunStatus, World } from "@wfkit/world";
import type { CodeProvider } from "../engine/code-provider.js";
import { Engine, type EngineOptions } from "../engine/engine.js";
import type { WaitingFor } from "../engine/flow-control.js";
import type { Operation, WorkflowInstance } from "../engine/instance.js";
import { lookupFunction } from "../engine/legacy-ids.js";
import type { LiveRun, StepResult } from "../engine/live-run.js";
import { parseDuration } from "../sandbox/duration.js";

/** A step cannot finish within one invocation's budget (`maxDuration`): it would be restarted forever. */
export class StepBudgetExceededError extends Error {
  readonly code = "STEP_EXCEEDS_MAX_DURATION";
  constructor(
    readonly stepName: string,
    readonly budgetMs: number,
    detail: string,
  ) {
    super(
      `Step ${stepName} ${detail}, longer than the ${budgetMs} ms an invocation may run (maxDuration / ` +
        "WORKFLOW_STEP_BUDGET_MS). Split the step into shorter steps, or raise maxDuration (see docs: " +
        "errors/step-exceeds-max-duration).",
    );
    this.name = "StepBudgetExceededError";
  }
}

/** The invocation budget from `WORKFLOW_STEP_BUDGET_MS` (default 300,000 ms: Vercel's default maxDuration). */
export function stepBudgetFromEnv(env: Record<string, string | undefined> = process.env): number {
  const raw = env.WORKFLOW_STEP_BUDGET_MS;
  if (raw === undefined || raw === "") return 300_000;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms < 100) {
    throw new RangeError(
      `WORKFLOW_STEP_BUDGET_MS must be a whole number of ms, at least 100 (the time one invocation may run), got "${raw}".`,
    );
  }
  return ms;
}

export interface StepTimeout {
  stepId: string;
  /** The step's declared `timeout` (`myStep.timeout = "30s"`), as given or in ms. */
  timeout: string | number;
}

/**
 * Build-time check: a step whose declared timeout is longer than the function's `maxDuration` could be cut off by
 * the platform before its own timeout fires, and no invocation could ever finish it. Throws one error naming every
 * such step.
 */
export function checkStepTimeouts(steps: Iterable<StepTimeout>, maxDurationMs: number): void {
  const over: string[] = [];
  for (const { stepId, timeout } of steps) {
    const ms = parseDuration(timeout, `${stepId}.timeout`);
    if (ms > maxDurationMs) over.push(`${stepId} (timeout ${timeout} = ${ms} ms)`);
  }
  if (over.length === 0) return;
  throw new StepBudgetExceededError(
    over.join(", "),
    maxDurationMs,
    `declare${over.length === 1 ? "s a timeout" : " timeouts"}`,
  );
}

/** The declared timeouts of the steps a loaded step registry holds (`globalThis[Symbol.for("wfkit.steps")]`). */
export function declaredStepTimeouts(registry: Map<string, unknown>): StepTimeout[] {
  const out: StepTimeout[] = [];
  for (const [stepId, fn] of registry) {
    const timeout = (fn as { timeout?: unknown } | undefined)?.timeout;
    if (typeof timeout === "string" || typeof timeout === "number") out.push({ stepId, timeout });
  }
  return out;
}

export interface InvocationOptions {
  runId: string;
  /** The storage; the invocation takes and releases the run's lease on it. */
  world: World;
  codeProvider: CodeProvider;
  /** How long this invocation may run, in ms (`maxDuration`); default `WORKFLOW_STEP_BUDGET_MS`, else 300,000. */
  budgetMs?: number;
  /**
   * Kept back at the end of the budget: no step starts in it, and the hand-off (release the lease, enqueue the
   * next invocation) happens before it is over. Default 20% of the budget, between 50 ms and 10 s.
   */
  reserveMs?: number;
  /**
   * A wake-up due this soon (a short retry back-off, a short sleep) is waited for in this invocation, which then
   * continues from its live instance, instead of costing a queue message and a replay. Default 500 ms.
   */
  inlineWaitMs?: number;
  /**
   * Enqueues the next invocation of the run after `delayMs` (0: at once): the hand-off, and the wake-up of a run
   * that waits for a sleep or a retry back-off.
   */
  enqueue(runId: string, delayMs: number, wakeAt?: number): Promise<void>;
  /** When the invocation began (default now): the budget counts from it, e.g. from the request's arrival. */
  startedAt?: number;
  /** Engine settings for tests (retry back-off, lease TTL). */
  engine?: Pick<EngineOptions, "retryBaseMs" | "retryMaxMs" | "leaseTtlMs" | "ownerId" | "onError">;
}

export type InvocationOutcome =
  /** The run completed, failed or was cancelled (possibly before this invocation). */
  | "ended"
  /** The run waits for a sleep or retry (an invocation is enqueued for its wake-up) or for a hook payload. */
  | "waiting"
  /** The budget ran out with work left: the next invocation is enqueued. */
  | "handed-off"
  /** Another invocation holds the run's lease: deliver this message again later. */
  | "busy"
  /**
   * [flow control] The run's concurrency limit, throttle or debounce refused it for now: it waits in its gate. The
   * invocation that frees its slot sends it a message; a wake-up is enqueued for `wakeAt` (the end of its throttle
   * period or debounce, or, waiting for a slot, when a killed holder's slot would have expired).
   */
  | "gated"
  /** No such run. */
  | "not-found"
  /** This function cannot load the run's code (another deployment's run): deliver it again later. */
  | "code-unavailable";

export interface InvocationResult {
  runId: string;
  outcome: InvocationOutcome;
  status?: RunStatus;
  /** Step bodies this invocation started. */
  stepsStarted: number;
  /** The earliest wake-up the run waits for, when it waits for one. */
  wakeAt?: number;
  /** [flow control] Why a `gated` run waits. */
  waitingFor?: WaitingFor;
  durationMs: number;
}

type Signal =
  | { kind: "suspended" | "ended"; runId: string }
  /** A step was left for the next invocation. */
  | { kind: "handoff" }
  /** A step body finished, or an append (which may hold its outcome) was stored. */
  | { kind: "settled" | "appended" };

/**
 * The engine of one invocation: the ordinary engine (same replay, same inline steps, same group commit), told
 * about the budget. It runs no sweep, offers no step tasks and arms no timers of its own: the queue brings the
 * next invocation.
 */
class InvocationEngine extends Engine {
  stepsStarted = 0;
  readonly wakeAt = new Map<string, number | undefined>();
  /** Codes of the errors the engine reported (a run whose code this deployment lacks). */
  readonly errorCodes = new Set<string>();
  private readonly signals: Signal[] = [];
  private waiter: ((s: Signal) => void) | undefined;
  private running = 0;
  private firstStepAt: number | undefined;
  /** Outcomes of finished bodies that no append has stored yet (a hand-off waits for them). */
  pendingOutcomes = 0;
  /** [flow control] Runs the gates refused here, and why. */
  readonly gated = new Map<string, { waitingFor: WaitingFor; retryAt?: number }>();
  /** [flow control] Messages sent to runs that a slot freed here lets go on. */
  private readonly kicks = new Set<Promise<void>>();

  constructor(
    opts: EngineOptions,
    private readonly enqueue: InvocationOptions["enqueue"],
    private readonly budget: {
      budgetMs: number;
      handOffAt: number;
      stopStartingAt: number;
      hardAt: number;
      freshWindowMs: number;
    },
  ) {
    super(opts);
  }

  /** The next thing that happened (in order; none is lost while nobody waits). */
  next(): Promise<Signal> {
    const queued = this.signals.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  private emitSignal(s: Signal): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    if (waiter) waiter(s);
    else this.signals.push(s);
  }

  protected override kickFlowWaiter(runId: string): void {
    // Not driven here: this invocation is about to end. The run's own invocation takes it up.
    const sent = this.enqueue(runId, 0).catch((error) => this.reportError(runId, error));
    this.kicks.add(sent);
    void sent.finally(() => this.kicks.delete(sent));
  }

  protected override flowRefused(
    runId: string,
    admission: { waitingFor: WaitingFor; retryAt?: number },
  ): void {
    // A run waiting for a slot is sent its message by whoever frees one. A holder killed mid-invocation frees
    // nothing: its slot expires with its lease, so the run looks again then instead of waiting for a heartbeat.
    const retryAt = admission.retryAt ?? Date.now() + this.leaseTtlMs + 1_000;
    this.gated.set(runId, { ...admission, retryAt });
  }

  /** Resolves once the slots given back here are written and the runs they let go on have their messages. */
  async settled(): Promise<void> {
    await this.flowSettled();
    while (this.kicks.size > 0) await Promise.allSettled([...this.kicks]);
  }

  override scheduleWake(runId: string, at: number | undefined): void {
    // No in-process timer: the wake-up is a delayed queue message (see runInvocation).
    this.wakeAt.set(runId, at);
  }

  override onAppended(count: number): void {
    super.onAppended(count);
    this.pendingOutcomes = 0;
    this.emitSignal({ kind: "appended" });
  }

  override suspended(live: LiveRun): void {
    super.suspended(live);
    this.emitSignal({ kind: "suspended", runId: live.runId });
  }

  override dropped(live: LiveRun, redriveAfterMs?: number): void {
    // A redrive (after a conflicting append) continues in this invocation; anything else ends the run here.
    super.dropped(live, redriveAfterMs);
    if (redriveAfterMs === undefined) this.emitSignal({ kind: "ended", runId: live.runId });
  }

  override async runStep(
    instance: WorkflowInstance,
    op: Operation,
    signal?: AbortSignal,
  ): Promise<StepResult> {
    const now = Date.now();
    if (now >= this.budget.stopStartingAt) {
      // Too little budget left to start a body: the next invocation restarts the step.
      this.emitSignal({ kind: "handoff" });
      return new Promise<StepResult>(() => {});
    }
    const declared = await this.declaredTimeout(op.name);
    if (declared !== undefined && declared > this.budget.budgetMs) {
      return {
        ok: false,
        error: new StepBudgetExceededError(
          op.name,
          this.budget.budgetMs,
          `declares a timeout of ${declared} ms`,
        ),
        maxRetries: 0,
      };
    }
    // The invocation's first bodies (however long its cold start and replay took) had all the budget any
    // invocation can give them: if they do not finish, none will. A later one is handed to the next invocation,
    // where it is among the first.
    this.firstStepAt ??= now;
    const fresh = now - this.firstStepAt <= this.budget.freshWindowMs;
    this.stepsStarted++;
    this.running++;
    let timer: NodeJS.Timeout | undefined;
    const budgetOver = new Promise<"over">((resolve) => {
      timer = setTimeout(() => resolve("over"), Math.max(0, this.budget.hardAt - Date.now()));
    });
    let result: StepResult | "over";
    try {
      result = await Promise.race([super.runStep(instance, op, signal), budgetOver]);
    } finally {
      clearTimeout(timer);
      this.running--;
    }
    if (result === "over" && !fresh) {
      this.emitSignal({ kind: "handoff" });
      return new Promise<StepResult>(() => {});
    }
    this.pendingOutcomes++;
    this.emitSignal({ kind: "settled" });
    if (result !== "over") return result;
    // It had a whole invocation and did not finish: no invocation ever will.
    return {
      ok: false,
      error: new StepBudgetExceededError(
        op.name,
        this.budget.budgetMs,
        "did not finish within one invocation",
      ),
      maxRetries: 0,
    };
  }

  /** Step bodies running here now. */
  get bodiesRunning(): number {
    return this.running;
  }

  private async declaredTimeout(stepName: string): Promise<number | undefined> {
    try {
      await this.codeProvider?.loadStep(stepName);
      const registry = (globalThis as Record<symbol, Map<string, unknown> | undefined>)[
        Symbol.for("wfkit.steps")
      ];
      const raw = (lookupFunction(registry, stepName) as { timeout?: unknown } | undefined)?.timeout;
      if (typeof raw !== "string" && typeof raw !== "number") return undefined;
      return parseDuration(raw, `${stepName}.timeout`);
    } catch {
      return undefined; // the engine reports a bad timeout or a missing step itself
    }
  }
}

/** The world as the invocation's engine sees it, remembering the leases it holds so a hand-off can free them. */
function trackLeases(world: World, held: Map<string, Lease>): World {
  const remember = (lease: Lease | undefined) => {
    if (lease) held.set(lease.runId, lease);
    return lease;
  };
  const overrides: Partial<World> = {
    acquireLease: async (runId, owner, ttlMs) => remember(await world.acquireLease(runId, owner, ttlMs)),
    renewLease: async (lease, ttlMs) => remember(await world.renewLease(lease, ttlMs)),
    releaseLease: async (lease) => {
      if (held.get(lease.runId)?.token === lease.token) held.delete(lease.runId);
      await world.releaseLease(lease);
    },
    createRun: async (input) => {
      const result = await world.createRun(input);
      remember(result.lease);
      return result;
    },
    // The invocation's world is closed by whoever opened it, not by the engine.
    close: async () => {},
  };
  return new Proxy(world, {
    get(target, prop) {
      if (Object.hasOwn(overrides, prop)) return overrides[prop as keyof World];
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

const TERMINAL = new Set<RunStatus>(["completed", "failed", "cancelled"]);

/**
 * One invocation of the flow handler for `runId`. Resolves with what became of the run; the caller acknowledges
 * the queue message unless the outcome is `busy` or `code-unavailable` (then the message should come back later).
 */
export async function runInvocation(opts: InvocationOptions): Promise<InvocationResult> {
  const startedAt = opts.startedAt ?? Date.now();
  const budgetMs = opts.budgetMs ?? stepBudgetFromEnv();
  if (!Number.isFinite(budgetMs) || budgetMs < 100) {
    throw new RangeError(`runInvocation: budgetMs must be at least 100 ms, got ${budgetMs}.`);
  }
  const reserveMs = opts.reserveMs ?? Math.min(10_000, Math.max(50, Math.floor(budgetMs * 0.2)));
  if (!(reserveMs >= 0 && reserveMs < budgetMs)) {
    throw new RangeError(
      `runInvocation: reserveMs must be ≥ 0 and below budgetMs (${budgetMs}), got ${reserveMs}.`,
    );
  }
  const budget = {
    budgetMs,
    stopStartingAt: startedAt + budgetMs - reserveMs,
    // Bodies still running this close to the end are left behind (or failed, when they had a whole invocation).
    hardAt: startedAt + budgetMs - Math.ceil(reserveMs / 2),
    // The invocation hands off by then whatever happens, keeping the last quarter of the reserve for it.
    handOffAt: startedAt + budgetMs - Math.ceil(reserveMs / 4),
    // Steps started this soon after the invocation's first step count as its first ones (a Promise.all batch).
    freshWindowMs: Math.max(50, Math.floor(reserveMs / 4)),
  };
  const inlineWaitMs = opts.inlineWaitMs ?? 500;
  const held = new Map<string, Lease>();
  const world = trackLeases(opts.world, held);
  const runId = opts.runId;
  const userOnError = opts.engine?.onError;
  const engine: InvocationEngine = new InvocationEngine(
    {
      ...opts.engine,
      world,
      codeProvider: opts.codeProvider,
      executeRuns: true,
      stepFanOut: false,
      sweepIntervalMs: false,
      onError: (error, id) => {
        const code = (error as { code?: unknown } | undefined)?.code;
        if (typeof code === "string") engine.errorCodes.add(code);
        userOnError?.(error, id);
      },
    },
    opts.enqueue,
    budget,
  );
  const result = (outcome: InvocationOutcome, run?: RunRecord, wakeAt?: number): InvocationResult => ({
    runId,
    outcome,
    ...(run ? { status: run.status } : {}),
    stepsStarted: engine.stepsStarted,
    ...(wakeAt !== undefined ? { wakeAt } : {}),
    durationMs: Date.now() - startedAt,
  });
  let deadline: NodeJS.Timeout | undefined;
  try {
    const before = await opts.world.getRun(runId);
    if (!before) return result("not-found");
    if (TERMINAL.has(before.status)) return result("ended", before);
    if (!(await engine.drive(runId, { retryIfHeld: false }))) {
      const run = await opts.world.getRun(runId);
      if (!run) return result("not-found");
      if (TERMINAL.has(run.status)) return result("ended", run);
      const gated = engine.gated.get(runId);
      if (gated) {
        if (gated.retryAt !== undefined)
          await opts.enqueue(runId, Math.max(0, gated.retryAt - Date.now()), gated.retryAt);
        return { ...result("gated", run, gated.retryAt), waitingFor: gated.waitingFor };
      }
      // Unfinished and not taken: its code is not in this deployment, or another invocation holds its lease.
      if (engine.errorCodes.has("WORKFLOW_CODE_UNAVAILABLE")) return result("code-unavailable", run);
      return result("busy", run);
    }
    const deadlineReached = new Promise<"deadline">((resolve) => {
      deadline = setTimeout(() => resolve("deadline"), Math.max(0, budget.handOffAt - Date.now()));
    });
    let handOff = false;
    let idle: "suspended" | "ended" | undefined;
    for (;;) {
      const signal = await Promise.race([engine.next(), deadlineReached]);
      if (signal === "deadline") {
        handOff = true;
        break;
      }
      if (signal.kind === "suspended" && signal.runId === runId) {
        const wakeAt = engine.wakeAt.get(runId);
        const now = Date.now();
        if (wakeAt !== undefined && wakeAt - now <= inlineWaitMs && wakeAt < budget.stopStartingAt) {
          const woke = await Promise.race([sleep(Math.max(0, wakeAt - now)), deadlineReached]);
          if (woke === "deadline") break; // suspended: nothing to hand off, the wake-up is enqueued below
          // The lease was released while waiting: another invocation may hold it now, and then it has the run.
          if (await engine.drive(runId, { retryIfHeld: false })) continue;
        }
      }
      if ((signal.kind === "suspended" || signal.kind === "ended") && signal.runId === runId) {
        idle = signal.kind;
        break;
      }
      if (signal.kind === "handoff") handOff = true;
      // Left-over steps wait for the next invocation; the bodies still running here may finish and their
      // outcomes be stored first.
      if (handOff && engine.bodiesRunning === 0 && engine.pendingOutcomes === 0) break;
    }
    if (handOff && idle === undefined) {
      engine.close();
      // The next invocation must not wait for this one's lease to expire.
      await Promise.all([...held.values()].map((lease) => opts.world.releaseLease(lease).catch(() => {})));
      held.clear();
      await opts.enqueue(runId, 0);
      return result("handed-off", await opts.world.getRun(runId));
    }
    const run = await opts.world.getRun(runId);
    if (!run) return result("not-found");
    if (TERMINAL.has(run.status)) return result("ended", run);
    const wakeAt = engine.wakeAt.get(runId) ?? run.wakeAt;
    if (wakeAt !== undefined) await opts.enqueue(runId, Math.max(0, wakeAt - Date.now()), wakeAt);
    return result("waiting", run, wakeAt);
  } finally {
    if (deadline) clearTimeout(deadline);
    // A slot this invocation held goes back before it answers (the platform may freeze it right after).
    await engine.settled();
    engine.close();
    // Leases this invocation still holds (a child run it started and drove): freed for the child's own invocation.
    await Promise.all([...held.values()].map((lease) => opts.world.releaseLease(lease).catch(() => {})));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
