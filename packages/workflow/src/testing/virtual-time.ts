/**
 * Virtual time for workflow tests: durable wake-ups (sleeps, retry back-offs) are armed on a clock the test owns.
 * With `auto` (the default) every wake-up comes due as soon as the process is idle, so `sleep("5d")` and a retry
 * after `"1h"` finish at once; with `auto: false` they wait until the test calls `advanceTime()`. The runs' clock
 * (their event times, workflow code's `Date`, stored wake-up times) moves with it, so a sleep of one hour is
 * recorded as one hour long.
 */
import { type Clock, type ClockTimer, currentClock, parseDuration, realClock, setClock } from "@wfkit/core";

interface Pending {
  at: number;
  fire: () => void;
  /** Set once the clock was retired (`useRealTime()`): the wake-up now waits on a real timer. */
  real?: ClockTimer;
}

/** Brand read instead of `instanceof`: a test runner may load this module twice. */
const VIRTUAL = Symbol.for("wfkit.virtualClock");

export interface VirtualTimeOptions {
  /** Wake-ups come due at once (default true); false: only when `advanceTime()` reaches them. */
  auto?: boolean;
}

export class VirtualClock implements Clock {
  readonly [VIRTUAL] = true;
  private offset: number;
  private readonly pending = new Set<Pending>();
  private flushScheduled = false;
  readonly auto: boolean;

  constructor(opts: VirtualTimeOptions = {}) {
    this.auto = opts.auto ?? true;
    // Virtual time starts at the wall clock's: a run's creation is stamped by its world's clock, and the two agree.
    this.offset = 0;
  }

  now(): number {
    return Date.now() + this.offset;
  }

  at(at: number, fire: () => void): ClockTimer {
    const entry: Pending = { at, fire };
    this.pending.add(entry);
    if (this.auto || at <= this.now()) this.scheduleFlush();
    return {
      cancel: () => {
        this.pending.delete(entry);
        entry.real?.cancel();
      },
      // Virtual wake-ups never hold the process open: nothing real is waited for.
      ref() {},
      unref() {},
      hasRef: () => false,
    };
  }

  /** Wake-ups armed and not fired yet (their virtual times, earliest first). */
  pendingWakeUps(): number[] {
    return [...this.pending].map((p) => p.at).sort((a, b) => a - b);
  }

  /** Moves the clock forward by `ms` and fires every wake-up that is then due, earliest first. */
  advance(ms: number): void {
    this.offset += ms;
    this.fireDue();
  }

  /**
   * Retires the clock: wake-ups still pending fire on the wall clock after the time they had left, so runs that
   * outlive the test are not stranded.
   */
  moveToRealTime(): void {
    const now = this.now();
    for (const p of this.pending) {
      this.pending.delete(p);
      p.real = realClock.at(Date.now() + Math.max(0, p.at - now), p.fire);
      p.real.unref();
    }
  }

  private fireDue(): void {
    const now = this.now();
    const due = [...this.pending].filter((p) => p.at <= now).sort((a, b) => a.at - b.at);
    for (const p of due) {
      if (!this.pending.delete(p)) continue;
      p.fire();
    }
  }

  /**
   * Auto mode: on the next macrotask (the engine has finished what it was doing), jump to the earliest wake-up
   * and fire what is due then; repeat while wake-ups remain.
   */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      if (this.pending.size === 0) return;
      if (this.auto) {
        const earliest = Math.min(...[...this.pending].map((p) => p.at));
        const now = this.now();
        if (earliest > now) this.offset += earliest - now;
      }
      this.fireDue();
      if (this.auto && this.pending.size > 0) this.scheduleFlush();
    });
  }
}

/**
 * Installs virtual time for this process (install it before starting the runs it should govern; wake-ups armed
 * earlier stay on the wall clock). Returns the clock; `useRealTime()` (run after each test by the `workflow()`
 * Vitest plugin) goes back to the wall clock.
 */
export function useVirtualTime(opts: VirtualTimeOptions = {}): VirtualClock {
  const clock = new VirtualClock(opts);
  setClock(clock);
  return clock;
}

/** Back to the wall clock. Wake-ups still armed on the virtual clock are moved to real timers at their time. */
export function useRealTime(): void {
  const clock = currentClock();
  setClock(undefined);
  if (isVirtual(clock)) clock.moveToRealTime();
}

/**
 * Moves virtual time forward (`"1h"`, `"30s"`, milliseconds) and fires the wake-ups that come due; resolves once
 * the runs they belong to have been handed to the engine. Needs `useVirtualTime()` first.
 */
export async function advanceTime(duration: string | number): Promise<void> {
  const clock = currentClock();
  if (!isVirtual(clock)) {
    throw new Error(
      "advanceTime() needs virtual time: call useVirtualTime({ auto: false }) (from workflow/testing) before starting the run.",
    );
  }
  clock.advance(parseDuration(duration, "advanceTime() duration"));
  // Let the engine take the woken runs up before the caller looks at them.
  await new Promise((resolve) => setImmediate(resolve));
}

function isVirtual(clock: Clock): clock is VirtualClock {
  return (clock as unknown as Partial<Record<symbol, unknown>>)[VIRTUAL] === true;
}
