/**
 * Cron arithmetic of schedules, on `croner` (a maintained cron parser with seconds, time zones and DST handling,
 * which we do not want to write ourselves), and the IDs that make each tick start at most one run.
 */
import { createHash } from "node:crypto";
import type { ScheduleRecord } from "@wfkit/world";
import { Cron } from "croner";

/**
 * A tick older than this when a scheduler first handles it was missed (no scheduler was running at its time):
 * `catchUp: "none"` skips it. A scheduler that is running handles each tick within about a second.
 */
export const MISSED_TICK_GRACE_MS = 10_000;

/** The parsed expression; throws a TypeError naming what is wrong with the expression or the time zone. */
export function compileCron(cron: string, timezone?: string): Cron {
  if (typeof cron !== "string" || cron.trim().length === 0) {
    throw new TypeError(
      `schedule(): cron must be a cron expression such as "0 * * * *", got ${JSON.stringify(cron)}.`,
    );
  }
  let parsed: Cron;
  try {
    // No time zone means UTC, whatever the machine's zone: every process of a world must agree on the ticks.
    parsed = new Cron(cron, { timezone: timezone ?? "UTC", paused: true });
    // An unknown time zone only shows when a date is computed.
    parsed.nextRun(new Date(0));
  } catch (error) {
    const what = timezone === undefined ? `"${cron}"` : `"${cron}" in time zone "${timezone}"`;
    throw new TypeError(
      `schedule(): the cron expression ${what} cannot be used: ${(error as Error).message} ` +
        '(five fields "min hour day month weekday", or six with seconds first; time zones are IANA names such as "Europe/Berlin").',
    );
  }
  return parsed;
}

/** The first tick strictly after `after` (epoch ms), or undefined when the expression has no further tick. */
export function nextTick(
  record: Pick<ScheduleRecord, "cron" | "timezone">,
  after: number,
): number | undefined {
  return compileCron(record.cron, record.timezone).nextRun(new Date(after))?.getTime();
}

export interface TickPlan {
  /** The tick to handle now (epoch ms). */
  tick: number;
  /** Start a run for it (true), or only record it as handled (a missed tick under `catchUp: "none"`). */
  fire: boolean;
}

/**
 * What a scheduler does for `record` at `now`: nothing (undefined) while no tick since `lastTick` is due; otherwise
 * the latest due tick, fired unless it was missed and `catchUp` is `"none"`. Ticks between `lastTick` and the
 * latest one never start runs: after downtime, `catchUp: "latest"` starts one run for all of them.
 */
export function planTick(
  record: ScheduleRecord,
  now: number,
  graceMs = MISSED_TICK_GRACE_MS,
): TickPlan | undefined {
  const cron = compileCron(record.cron, record.timezone);
  const first = cron.nextRun(new Date(record.lastTick));
  if (!first || first.getTime() > now) return undefined;
  const latest = cron.previousRuns(1, new Date(now + 1))[0]?.getTime() ?? first.getTime();
  const tick = Math.max(latest, first.getTime());
  const missed = now - tick > graceMs;
  return { tick, fire: !missed || record.catchUp === "latest" };
}

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

function base32(bytes: Uint8Array, chars: number): string {
  let out = "";
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = ((acc << 8) | b) & 0xffff;
    bits += 8;
    while (bits >= 5 && out.length < chars) {
      bits -= 5;
      out += CROCKFORD[(acc >> bits) & 31];
    }
    if (out.length >= chars) break;
  }
  return out;
}

function timePart(ms: number): string {
  let time = "";
  let t = Math.max(0, Math.floor(ms));
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  return time;
}

const digest = (text: string) => createHash("sha256").update(text).digest();

/**
 * The run of schedule `name` at `tick`: the same in every process, so that the world's unique run ID makes the tick
 * start exactly one run however many schedulers handle it. Time first, like every run ID, so runs sort by tick.
 */
export function tickRunId(name: string, tick: number): string {
  return `wrun_${timePart(tick)}${base32(digest(`schedule\n${name}\n${tick}`), 16)}`;
}

/** The run that event `eventId` starts of `workflowName` (`trigger()`): one per event and workflow. */
export function triggeredRunId(eventId: string, workflowName: string): string {
  const hash = digest(`event\n${eventId}\n${workflowName}`);
  return `wrun_${base32(hash, 26)}`;
}
