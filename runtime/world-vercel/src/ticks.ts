/**
 * Schedules and flow control on the Vercel world, where no process stays up to keep time. Two things drive them:
 *
 * - **The heartbeat**: a Vercel Cron Job (`crons` in the Build Output's `config.json`) calls the tick function
 *   (`createTickHandler`, at `TICK_PATH`) every minute by default. Each call handles every schedule's due tick
 *   (after downtime: per `catchUp`), arms the ticks due before the next call, and sweeps the flow gates (the
 *   waiters that an expired slot or a past throttle period now lets go on get their message).
 * - **Tick messages**: each armed tick is a delayed message `{ schedule, tick }` on the flow topic, due at the
 *   tick (whole seconds), with one idempotency key per schedule and tick. The flow function handles it like a
 *   heartbeat for that one schedule. `schedule()` and a resume arm the ticks at once, so a new schedule does not
 *   wait for the next heartbeat.
 *
 * Ticks are armed only up to the next heartbeat (plus a margin), never chained from one tick to the next: queue
 * messages are pinned to the deployment that sent them, so a chain started by an old deployment would go on in
 * it forever, while the heartbeat runs in the current production deployment.
 *
 * However many heartbeats, tick messages and repeats handle a tick, it starts one run: the run ID derives from
 * the schedule and the tick (`runDueTick` in `@wfkit/core`), and Postgres refuses a second run with that ID.
 */
import { type Engine, FlowControl, log, nextTick, runDueTick } from "@wfkit/core";
import { type ScheduleRecord, schedulesOf, type World } from "@wfkit/world";

/** The path the heartbeat cron calls. */
export const TICK_PATH = "/.well-known/workflow/v1/tick";

/** The heartbeat's default cron expression: every minute (Vercel's finest; the Hobby plan allows once a day). */
export const DEFAULT_HEARTBEAT_CRON = "* * * * *";

/**
 * A tick handled later than this counts as missed (`catchUp: "none"` skips it). Larger than the long-running
 * worlds' 10 s: a tick message arrives with the queue's delivery delay, and the cron calls with some jitter.
 */
export const VERCEL_MISSED_TICK_GRACE_MS = 60_000;

/** Ticks one schedule arms at most per heartbeat; later ones are handled by the next heartbeat (catch-up). */
export const MAX_ARMED_TICKS = 300;

/** The queue's longest delay (7 days) and default retention (24 hours), in seconds (`@vercel/queue` 0.6). */
const MAX_DELAY_SECONDS = 604_800;
const DEFAULT_RETENTION_SECONDS = 86_400;

/** A flow message that handles a schedule's tick. */
export interface TickMessage {
  schedule: string;
  /** Epoch ms. */
  tick: number;
}

export function isTickMessage(message: unknown): message is TickMessage {
  const m = message as Partial<TickMessage> | null;
  return typeof m === "object" && m !== null && typeof m.schedule === "string" && typeof m.tick === "number";
}

/** What sends a message on the flow topic (`VercelWorld.send`). */
export type SendFlowMessage = (
  payload: object,
  opts: { delayMs?: number; idempotencyKey?: string },
) => Promise<void>;

/**
 * `@vercel/queue` send options for a message due in `delayMs`: whole seconds, and a retention that outlives the
 * delay (the queue refuses a delay longer than the retention, and any delay beyond 7 days). A wake-up further
 * away than that arrives early; whoever handles it finds nothing due yet and sends it again.
 */
export function delayOptions(delayMs: number): { delaySeconds?: number; retentionSeconds?: number } {
  const delaySeconds = Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.ceil(delayMs / 1000)));
  if (delaySeconds === 0) return {};
  if (delaySeconds + 3_600 <= DEFAULT_RETENTION_SECONDS) return { delaySeconds };
  return { delaySeconds, retentionSeconds: Math.min(MAX_DELAY_SECONDS, delaySeconds + 3_600) };
}

/**
 * How far ahead ticks are armed: the longest gap between two calls of the heartbeat (`WORKFLOW_VERCEL_HEARTBEAT`,
 * the cron expression the build gave the cron job; default every minute) plus a minute, at most 7 days.
 */
export function armHorizonMs(env: Record<string, string | undefined> = process.env): number {
  const cron = env.WORKFLOW_VERCEL_HEARTBEAT?.trim() || DEFAULT_HEARTBEAT_CRON;
  const expr = { cron };
  let longest = 0;
  let at = Date.now();
  for (let i = 0; i < 48; i++) {
    const next = nextTick(expr, at);
    if (next === undefined) break;
    if (i > 0) longest = Math.max(longest, next - at);
    at = next;
  }
  return Math.min(MAX_DELAY_SECONDS * 1000, (longest || 60_000) + 60_000);
}

/** The idempotency key of a schedule's tick message (at most 256 characters, the queue's limit). */
function tickKey(name: string, tick: number): string {
  return `wfkit:tick:${tick}:${name}`.slice(0, 256);
}

/**
 * Sends a delayed message for every tick of `record` due after `now` and within `horizonMs`. Sending one again is
 * harmless: the idempotency key collapses repeats, and a tick handled twice starts one run. Returns the count.
 */
export async function armTicks(
  send: SendFlowMessage,
  record: ScheduleRecord,
  now: number,
  horizonMs: number,
): Promise<number> {
  if (record.paused) return 0;
  const ticks: number[] = [];
  const until = now + horizonMs;
  for (let t = nextTick(record, Math.max(now, record.lastTick)); t !== undefined && t <= until; ) {
    if (ticks.length === MAX_ARMED_TICKS) {
      log.warn(
        `schedule "${record.name}": its cron "${record.cron}" fires more than ${MAX_ARMED_TICKS} times before the ` +
          "next heartbeat; the later ticks are handled by that heartbeat as missed ticks (catchUp). Call the tick " +
          "function more often (vercel.heartbeat) or use a less frequent cron.",
      );
      break;
    }
    ticks.push(t);
    t = nextTick(record, t);
  }
  for (let i = 0; i < ticks.length; i += 16) {
    await Promise.all(
      ticks.slice(i, i + 16).map((tick) =>
        send({ schedule: record.name, tick } satisfies TickMessage, {
          delayMs: tick - now,
          idempotencyKey: tickKey(record.name, tick),
        }),
      ),
    );
  }
  return ticks.length;
}

/**
 * A tick message: handles the due tick of its schedule. Answers the seconds after which the message should come
 * back when it arrived before its tick (clocks differ), else undefined.
 */
export async function handleTickMessage(
  engine: Engine,
  world: World,
  message: TickMessage,
  now: number = Date.now(),
): Promise<number | undefined> {
  if (now < message.tick) return Math.max(1, Math.ceil((message.tick - now) / 1000));
  const store = schedulesOf(world);
  const record = await store?.getSchedule(message.schedule);
  // Deleted or paused since it was armed: a resume arms its ticks again.
  if (!record || record.paused) return undefined;
  await runDueTick(engine, record, now, VERCEL_MISSED_TICK_GRACE_MS);
  return undefined;
}

export interface HeartbeatResult {
  /** Schedules looked at (paused ones are skipped). */
  schedules: number;
  /** Tick messages sent (repeats of ones sent before included). */
  armed: number;
  /** Runs waiting on a flow gate that were sent a message. */
  kicked: number;
  /** Schedules whose tick failed, with the error. */
  errors: { schedule: string; message: string }[];
}

/** One heartbeat: every schedule's due tick, the ticks before the next heartbeat, and the flow gates' sweep. */
export async function heartbeat(
  engine: Engine,
  world: World & { enqueueRun(runId: string): Promise<void> },
  send: SendFlowMessage,
  opts: { now?: number; horizonMs?: number } = {},
): Promise<HeartbeatResult> {
  const now = opts.now ?? Date.now();
  const horizonMs = opts.horizonMs ?? armHorizonMs();
  const result: HeartbeatResult = { schedules: 0, armed: 0, kicked: 0, errors: [] };
  const store = schedulesOf(world);
  for (const record of (await store?.listSchedules()) ?? []) {
    if (record.paused) continue;
    result.schedules++;
    try {
      await runDueTick(engine, record, now, VERCEL_MISSED_TICK_GRACE_MS);
      const current = await store!.getSchedule(record.name);
      if (current) result.armed += await armTicks(send, current, now, horizonMs);
    } catch (error) {
      const message = (error as Error)?.message ?? String(error);
      result.errors.push({ schedule: record.name, message });
      log.error(`schedule "${record.name}": ${message}`, { error });
    }
  }
  const kicks: Promise<void>[] = [];
  const flow = new FlowControl({
    now: () => now,
    // The sweep takes no slots; these two only matter to runs that execute.
    slotTtlMs: 0,
    owner: "heartbeat",
    kick: (runId) => {
      kicks.push(world.enqueueRun(runId));
    },
    onError: (error, runId) => log.error(`flow gates: run ${runId}: ${(error as Error)?.message}`, { error }),
  });
  await flow.sweep(world, () => false);
  await Promise.all(kicks);
  result.kicked = kicks.length;
  return result;
}
