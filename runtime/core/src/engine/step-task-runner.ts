/**
 * The claiming side of step fan-out: runs step tasks that any executor offered on the world (see
 * `StepTask` in @wfkit/world and the engine README). It claims only as many tasks as this process has free
 * step slots, is woken by the world's `offered` notifications (and, as a safety net for a missed notification
 * or a claim whose claimer died, by a slow sweep), keeps each claim alive while the body runs, and completes
 * the task with the outcome the run's executor will append. It never writes to a run's log.
 */
import type { ClaimedStepTask, RunNotification, StepTaskOutcome, StepTaskWorld } from "@wfkit/world";
import { WorkflowRunCancelledError } from "../sandbox/run-errors.js";
import type { Semaphore } from "./semaphore.js";
import type { StepResult } from "./step-outcome.js";

/**
 * Tasks taken per claim. Small, so that the first worker to hear of a batch does not take all of it while other
 * idle workers (woken by the same notification) find nothing: claims interleave and the batch spreads.
 */
const CLAIM_BATCH = 4;

export interface StepTaskHost {
  readonly ownerId: string;
  /** Claim time-to-live; claims are renewed every third of it while the body runs. */
  readonly claimTtlMs: number;
  /** Safety-net sweep interval. */
  readonly sweepMs: number;
  /** Head start other workers get on tasks this process offered before it claims any itself. */
  readonly ownOfferDelayMs: number;
  /** This process's step slots (shared with inline steps). */
  readonly slots: Semaphore;
  /** Runs one attempt of the body; the runner holds a slot for it meanwhile. */
  runBody(task: ClaimedStepTask, signal: AbortSignal): Promise<StepResult>;
  outcome(task: ClaimedStepTask, result: StepResult): Promise<StepTaskOutcome>;
  cancelReason(runId: string): Promise<string | undefined>;
  onError(error: unknown, runId: string): void;
  /** A body of a task finished (stats). */
  ran(): void;
  /** A task was claimed here (before its body starts). */
  claimed(task: ClaimedStepTask): void;
}

export class StepTaskRunner {
  private claiming = false;
  /** An offer arrived while claiming, or claims were cut short by full slots: claim again when possible. */
  private wanted = true;
  private stopped = false;
  private readonly running = new Map<ClaimedStepTask, AbortController>();
  private readonly offs: (() => void)[] = [];
  private sweepTimer: NodeJS.Timeout | undefined;
  /** Until then (epoch ms) this process does not claim: it just offered tasks, other workers go first. */
  private holdUntil = 0;
  private holdTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly world: StepTaskWorld,
    private readonly host: StepTaskHost,
  ) {}

  start(): void {
    this.offs.push(
      this.world.subscribeStepTasks((n) => {
        if (n.kind === "offered") this.poke();
      }),
      this.world.subscribe((n) => this.onRunNotification(n)),
    );
    this.sweepTimer = setInterval(() => this.poke(), this.host.sweepMs);
    this.sweepTimer.unref();
    this.poke();
  }

  /** Bodies of claimed tasks running now. */
  get active(): number {
    return this.running.size;
  }

  /** Stops claiming. Bodies already running finish and complete their tasks. */
  stop(): void {
    this.stopped = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    if (this.holdTimer) clearTimeout(this.holdTimer);
    for (const off of this.offs.splice(0)) off();
  }

  /** A step slot was freed somewhere in this process: claim if offers are waiting. */
  slotFreed(): void {
    if (this.wanted) this.poke();
  }

  /**
   * This process is about to offer tasks. Its own notification arrives before any other process hears of them,
   * so without a head start for the others it would claim its own offers back (the same as running them inline,
   * only slower) whenever it has a free slot. When no other worker takes them, it does after the delay.
   */
  offering(): void {
    if (this.host.ownOfferDelayMs <= 0) return;
    this.holdUntil = Date.now() + this.host.ownOfferDelayMs;
  }

  /** Claims as many tasks as there are free slots, until none is left or the slots are full. */
  poke(): void {
    this.wanted = true;
    if (this.claiming || this.stopped) return;
    const wait = this.holdUntil - Date.now();
    if (wait > 0) {
      this.holdTimer ??= setTimeout(() => {
        this.holdTimer = undefined;
        this.poke();
      }, wait);
      this.holdTimer.unref();
      return;
    }
    this.claiming = true;
    void this.claimLoop().finally(() => {
      this.claiming = false;
    });
  }

  private async claimLoop(): Promise<void> {
    while (this.wanted && !this.stopped) {
      this.wanted = false;
      // Slots are not taken before the claim: holding them for its round trip would delay inline steps. A step
      // that starts inline meanwhile makes a claimed body wait for the next free slot, still under its claim.
      const free = Math.min(CLAIM_BATCH, this.host.slots.limit - this.host.slots.running);
      if (free <= 0) {
        // Full: the next freed slot claims again.
        this.wanted = true;
        return;
      }
      let claimed: ClaimedStepTask[] = [];
      try {
        claimed = await this.world.claimStepTasks(this.host.ownerId, this.host.claimTtlMs, free);
      } catch (error) {
        this.host.onError(error, "(step task claim)");
      }
      for (const task of claimed) {
        this.host.claimed(task);
        void this.execute(task);
      }
      // A full batch: there may be more offers than were taken.
      if (claimed.length === free) this.wanted = true;
    }
  }

  private async execute(task: ClaimedStepTask): Promise<void> {
    const controller = new AbortController();
    this.running.set(task, controller);
    let claim = task;
    let lost = false;
    const heartbeat = setInterval(
      () => {
        void this.world.renewStepTask(claim, this.host.claimTtlMs).then(
          (renewed) => {
            if (renewed) claim = renewed;
            else if (!lost) {
              lost = true;
              controller.abort(
                Object.assign(
                  new Error(
                    `Step ${task.stepName} (${task.runId}/${task.correlationId}) is no longer claimed here: ` +
                      "its claim expired and another worker took it, or its run withdrew it (a newer attempt, " +
                      "or the run ended). The result of this attempt is not needed.",
                  ),
                  { name: "AbortError", code: "STEP_CLAIM_LOST" },
                ),
              );
            }
          },
          () => {}, // a failed renewal is retried at the next beat; expiry decides
        );
      },
      Math.max(10, Math.floor(this.host.claimTtlMs / 3)),
    );
    heartbeat.unref();
    const wait = this.host.slots.acquire();
    if (wait) await wait;
    try {
      const result = await this.host.runBody(task, controller.signal);
      this.host.ran();
      if (lost || controller.signal.aborted) return;
      const outcome = await this.host.outcome(task, result);
      await this.world.completeStepTask(claim, outcome);
    } catch (error) {
      this.host.onError(error, task.runId);
    } finally {
      clearInterval(heartbeat);
      this.running.delete(task);
      this.host.slots.release();
      this.poke();
    }
  }

  /** A run that ended while its tasks run here: their AbortSignals fire, as they would in the executor. */
  private onRunNotification(n: RunNotification): void {
    if (n.kind !== "finished" || this.running.size === 0) return;
    const mine = [...this.running].filter(([task]) => task.runId === n.runId);
    if (mine.length === 0) return;
    const abort = (reason: unknown) => {
      for (const [, controller] of mine) controller.abort(reason);
    };
    if (n.status !== "cancelled") {
      abort(
        Object.assign(new Error(`Run ${n.runId} has ended; the result of this step is no longer needed.`), {
          name: "AbortError",
          code: "RUN_ENDED",
        }),
      );
      return;
    }
    void this.host.cancelReason(n.runId).then(
      (reason) => abort(new WorkflowRunCancelledError(n.runId, reason)),
      (error) => this.host.onError(error, n.runId),
    );
  }
}
