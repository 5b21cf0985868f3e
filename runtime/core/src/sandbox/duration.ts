/**
 * Durations as the public API accepts them: milliseconds, or strings such as "1.5s", "10m", "3d".
 * Hand-written rather than the `ms` package because it must be sandbox-safe, tiny and give errors that
 * name the caller and the accepted forms.
 */
const UNITS: Record<string, number> = {
  ms: 1,
  msec: 1,
  msecs: 1,
  millisecond: 1,
  milliseconds: 1,
  s: 1000,
  sec: 1000,
  secs: 1000,
  second: 1000,
  seconds: 1000,
  m: 60_000,
  min: 60_000,
  mins: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hr: 3_600_000,
  hrs: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
  days: 86_400_000,
  w: 604_800_000,
  week: 604_800_000,
  weeks: 604_800_000,
  // The units of the `ms` package's strings, which WDK's `sleep()` and `retryAfter` take: a year is 365.25 days.
  y: 31_557_600_000,
  yr: 31_557_600_000,
  yrs: 31_557_600_000,
  year: 31_557_600_000,
  years: 31_557_600_000,
};

const PATTERN = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([a-zA-Z]*)\s*$/;

/** Parses a duration into milliseconds; `what` names the caller in error messages. */
export function parseDuration(value: number | string, what = "duration"): number {
  if (typeof value === "number") {
    if (!Number.isFinite(value) || value < 0) {
      throw new TypeError(
        `${what}: ${value} is not a valid duration; pass a non-negative number of milliseconds.`,
      );
    }
    return value;
  }
  if (typeof value === "string") {
    const match = PATTERN.exec(value);
    const unit = match?.[2]?.toLowerCase() || "ms";
    const factor = UNITS[unit];
    if (match && factor !== undefined) return Number(match[1]) * factor;
  }
  throw new TypeError(
    `${what}: ${JSON.stringify(value)} is not a valid duration; use milliseconds or a string such as "1.5s", "10m", "2h" or "3d".`,
  );
}
