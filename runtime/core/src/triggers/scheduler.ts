/**
 * The scheduler of one engine that executes runs: it wakes at the next tick of any schedule (and every `pollMs`, so
 * that schedules created or changed by other processes are seen), and for each due schedule starts the tick's run.
 *
 * Every executing process runs one and all of them handle the same ticks: the run ID derives from the schedule and
 * the tick (`tickRunId`), so the world creates the run once and the others find it (`onConflict: "use-existing"`).
 * No leader election, no lock: a process that dies mid-tick leaves the tick to the others or to its own restart,
 * because `lastTick` only moves once the run exists. Only processes with the workflow's code start its runs (others
 * are refused by `start()` and leave the tick alone).
 */
import { isTerminalStatus, type ScheduleRecord, type World } from "@wfkit/world";
import type { Engine } from "../engine/engine.js";
import { errorCode, log } from "../observability/logger.js";
import { RunAlreadyExistsError } from "../sandbox/run-errors.js";
import { WorkflowNotRegisteredError } from "../sandbox/workflow-error.js";
import { deserialize } from "../serialization/index.js";
import { triggerStore } from "./events.js";
import { MISSED_TICK_GRACE_MS, nextTick, planTick, tickRunId } from "./ticks.js";

export function schedulePollMsFromEnv(): number {
  const raw = process.env.WORKFLOW_SCHEDULE_POLL_MS;
  const n = raw === undefined || raw === "" ? 2_000 : Number(raw);
  if (!Number.isFinite(n) || n < 50) {
    throw new TypeError(`WORKFLOW_SCHEDULE_POLL_MS must be a number of ms ≥ 50, got ${JSON.stringify(raw)}.`);
  }
  return n;
}

export class Scheduler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  /** Schedules whose definition failed to compile, by name and cron, so the error is logged once. */
  private readonly reported = new Set<string>();

  constructor(
    private readonly engine: Engine,
    private readonly pollMs: number = schedulePollMsFromEnv(),
  ) {}

  start(): void {
    this.arm(0);
  }

  /** Looks at the schedules now (a schedule was created or changed in this process). */
  poke(): void {
    if (this.stopped) return;
    if (this.running) this.again = true;
    else this.arm(0);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** One pass over every schedule; resolves when it is done (tests await it). */
  pass(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.runPass().finally(() => {
      this.running = undefined;
      if (this.again && !this.stopped) {
        this.again = false;
        this.arm(0);
      }
    });
    return this.running;
  }

  private arm(delayMs: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.pass(), Math.max(0, delayMs));
    this.timer.unref();
  }

  private async runPass(): Promise<void> {
    let wakeAt = Date.now() + this.pollMs;
    try {
      if (!this.engine.executes) return;
      const world = await this.engine.world();
      let store: ReturnType<typeof triggerStore>;
      try {
        store = triggerStore(world);
      } catch {
        this.stop(); // a world without schedules: nothing to do, ever
        return;
      }
      for (const record of await store.listSchedules()) {
        if (this.stopped) return;
        if (record.paused) continue;
        const now = this.engine.now();
        let next: number | undefined;
        try {
          next = await runDueTick(this.engine, record, now, Math.max(MISSED_TICK_GRACE_MS, 2 * this.pollMs));
        } catch (error) {
          this.report(record, error);
          continue;
        }
        // Wall-clock delay to the tick (the engine's clock may be virtual in tests).
        if (next !== undefined) wakeAt = Math.min(wakeAt, Date.now() + (next - now));
      }
    } catch (error) {
      log.error(`schedules: ${(error as Error)?.message ?? String(error)}`, {
        errorCode: errorCode(error),
        error,
      });
    } finally {
      this.arm(wakeAt - Date.now());
    }
  }

  private report(record: ScheduleRecord, error: unknown): void {
    const key = `${record.name}\n${record.cron}\n${record.timezone ?? ""}\n${(error as Error)?.message}`;
    if (this.reported.has(key)) return;
    this.reported.add(key);
    log.error(`schedule "${record.name}": ${(error as Error)?.message ?? String(error)}`, {
      errorCode: errorCode(error),
      error,
    });
  }
}

/**
 * Handles the tick of `record` that is due at `now` (`planTick`: start its run, or record it as skipped), and
 * answers the schedule's next tick after it (undefined: none). Any driver of ticks calls it, as often and in as
 * many processes as it likes: this engine's scheduler, or the tick function of a serverless deployment.
 */
export async function runDueTick(
  engine: Engine,
  record: ScheduleRecord,
  now: number,
  graceMs: number = MISSED_TICK_GRACE_MS,
): Promise<number | undefined> {
  const plan = planTick(record, now, graceMs);
  if (plan) await handleTick(engine, await engine.world(), record, plan.tick, plan.fire);
  return nextTick(record, Math.max(now, plan?.tick ?? 0));
}

async function handleTick(
  engine: Engine,
  world: World,
  record: ScheduleRecord,
  tick: number,
  fire: boolean,
): Promise<void> {
  const store = triggerStore(world);
  const { name } = record;
  if (!fire) {
    log.info(`schedule "${name}": tick ${new Date(tick).toISOString()} was missed; catchUp "none" skips it`);
    await store.recordScheduleTick(name, tick);
    return;
  }
  if (record.overlap === "skip" && record.lastRunId !== undefined) {
    const previous = await world.getRun(record.lastRunId);
    if (previous && !isTerminalStatus(previous.status)) {
      log.info(
        `schedule "${name}": tick ${new Date(tick).toISOString()} skipped, run ${previous.runId} of the previous tick is still ${previous.status} (overlap "skip")`,
      );
      await store.recordScheduleTick(name, tick);
      return;
    }
  }
  const runId = tickRunId(name, tick);
  try {
    await engine.start(record.workflowName, deserialize(record.args) as unknown[], {
      runId,
      onConflict: "use-existing",
      metadata: { schedule: { name, tick } },
    });
  } catch (error) {
    // This process lacks the workflow's code: a process that has it starts the tick.
    if (WorkflowNotRegisteredError.is(error)) return;
    // The tick's ID holds a run of another workflow (the schedule was changed to another workflow at that tick).
    if (!RunAlreadyExistsError.is(error)) throw error;
  }
  await store.recordScheduleTick(name, tick, runId);
}
