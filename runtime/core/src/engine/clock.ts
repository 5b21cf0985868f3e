/**
 * The time durable wake-ups are measured in. Normally the wall clock and `setTimeout`; a test can install a
 * virtual clock (`workflow/testing`'s `useVirtualTime()`), so that sleeps and retry back-offs come due at once or
 * when the test advances time, without waiting. Events are stamped with this clock's time, so workflow code's
 * `Date` and the stored wake-up times agree with it.
 *
 * The clock lives on `globalThis` under a registered symbol (like the step registry): a test runner may load this
 * module twice (a bundled copy and a source copy), and both must see the same clock.
 */

const CLOCK_KEY = Symbol.for("wfkit.clock");

/** A timer armed on the clock; `ref`/`unref` follow Node's timers (a virtual timer never holds the process). */
export interface ClockTimer {
  cancel(): void;
  ref(): void;
  unref(): void;
  hasRef(): boolean;
}

export interface Clock {
  now(): number;
  /** Calls `fire` once the clock reaches `at` (epoch ms). */
  at(at: number, fire: () => void): ClockTimer;
}

/** setTimeout's maximum; a longer wait re-arms when it fires (the owner re-checks what is due). */
const MAX_TIMER_MS = 2 ** 31 - 1;

export const realClock: Clock = {
  now: () => Date.now(),
  at(at, fire) {
    const timer = setTimeout(fire, Math.min(MAX_TIMER_MS, Math.max(0, at - Date.now())));
    return {
      cancel: () => clearTimeout(timer),
      ref: () => void timer.ref(),
      unref: () => void timer.unref(),
      hasRef: () => timer.hasRef(),
    };
  },
};

type Holder = Record<symbol, Clock | undefined>;

/** The clock in effect for this process. */
export function currentClock(): Clock {
  return (globalThis as unknown as Holder)[CLOCK_KEY] ?? realClock;
}

/** Installs a clock for this process (`undefined`: back to the wall clock). */
export function setClock(clock: Clock | undefined): void {
  (globalThis as unknown as Holder)[CLOCK_KEY] = clock;
}
