/** The decisions on one flow gate, as pure functions of its stored state. */
import { describe, expect, it } from "vitest";
import {
  askConcurrency,
  askThrottle,
  deleteIfSpent,
  dueOnGate,
  fireDebounce,
  joinDebounce,
  parseGate,
  releaseConcurrency,
  renewConcurrency,
} from "./flow-gate-state.js";

const ask = (raw: string | undefined, runId: string, now: number, priority = 0, limit = 1) =>
  askConcurrency(raw, { runId, priority, now, limit, slotTtlMs: 1_000 });

describe("flow gate state", () => {
  it("concurrency: waiters are admitted by priority, then arrival; a release names who may go now", () => {
    let s = ask(undefined, "holder", 0).state;
    const low = ask(s, "low", 1, 0);
    expect(low.result).toEqual({ admitted: false, position: 0 });
    s = low.state;
    s = ask(s, "high", 2, 5).state;
    s = ask(s, "low2", 3, 0).state;
    expect(parseGate(s).waiting!.map((w) => w.runId)).toEqual(["high", "low", "low2"]);
    // The low one asks again while the high one waits ahead of it: still refused.
    expect(ask(s, "low", 4).result.admitted).toBe(false);
    const released = releaseConcurrency(s, "holder", 1, 5);
    expect(released.result).toEqual(["high"]);
    expect(ask(released.state, "low", 6).result.admitted).toBe(false);
    const high = ask(released.state, "high", 6, 5);
    expect(high.result.admitted).toBe(true);
    expect(parseGate(high.state).holders).toEqual({ high: 1_006 });
  });

  it("concurrency: an expired slot (its process died) is free; the holder itself asking again keeps its slot", () => {
    const s = ask(undefined, "dead", 0).state;
    expect(ask(s, "again", 500).result.admitted).toBe(false);
    expect(ask(s, "dead", 500).result.admitted).toBe(true);
    expect(ask(s, "other", 1_001).result.admitted).toBe(true);
    expect(renewConcurrency(s, "dead", 500, 1_000).result).toBe(true);
    expect(renewConcurrency(s, "dead", 1_001, 1_000).result).toBe(false);
    expect(dueOnGate("concurrency", parseGate(ask(s, "w", 10).state), 1_001)).toEqual(["w"]);
  });

  it("throttle: at most limit starts per period, and the refused learn when a start leaves it", () => {
    const t = (raw: string | undefined, runId: string, now: number) =>
      askThrottle(raw, { runId, priority: 0, now, limit: 2, periodMs: 1_000 });
    let s = t(undefined, "a", 0).state;
    s = t(s, "b", 100).state;
    const c = t(s, "c", 200);
    expect(c.result).toEqual({ admitted: false, retryAt: 1_000, position: 0 });
    const d = t(c.state, "d", 300);
    expect(d.result).toEqual({ admitted: false, retryAt: 1_100, position: 1 });
    expect(t(d.state, "c", 1_000).result.admitted).toBe(true);
    // Admitted within the period: asking again passes (it waited for a concurrency slot meanwhile).
    expect(t(s, "a", 900).result.admitted).toBe(true);
  });

  it("debounce: starts join the pending run with their arguments until it fires", () => {
    let s = joinDebounce(undefined, { runId: "r1", input: "[1]", periodMs: 100, now: 0 });
    expect(s.result).toEqual({ runId: "r1", created: true });
    s = joinDebounce(s.state, { runId: "r2", input: "[2]", periodMs: 100, now: 50 });
    expect(s.result).toEqual({ runId: "r1", created: false });
    expect(fireDebounce(s.state, "r1", 100).result).toEqual({ admitted: false, retryAt: 150 });
    const fired = fireDebounce(s.state, "r1", 150);
    expect(fired.result).toEqual({ admitted: true, input: "[2]" });
    // Asking again (a crash before run_started) gives the same arguments; a new start makes a new run.
    expect(fireDebounce(fired.state, "r1", 200).result).toEqual({ admitted: true, input: "[2]" });
    expect(joinDebounce(fired.state, { runId: "r3", input: "[3]", periodMs: 100, now: 200 }).result).toEqual({
      runId: "r3",
      created: true,
    });
  });

  it("a gate whose slots expired and whose starts left the period is spent and deleted", () => {
    const held = ask(undefined, "r", 0).state;
    expect(deleteIfSpent(held, 500).state).toBe(held);
    expect(deleteIfSpent(held, 1_001).state).toBeUndefined();
    const started = askThrottle(undefined, {
      runId: "a",
      priority: 0,
      now: 0,
      limit: 1,
      periodMs: 1_000,
    }).state;
    expect(deleteIfSpent(started, 999).state).toBe(started);
    expect(deleteIfSpent(started, 1_000).state).toBeUndefined();
    const waiting = ask(held, "w", 10).state;
    expect(deleteIfSpent(waiting, 5_000).state).toBe(waiting);
  });

  it("concurrency: a process that lost the run neither gives back nor renews the slot its successor holds", () => {
    const a = askConcurrency(undefined, {
      runId: "r",
      priority: 0,
      now: 0,
      limit: 1,
      slotTtlMs: 1_000,
      owner: "A",
    });
    // B took the run over (A's lease expired while A was frozen) and asks: the slot is B's now.
    const b = askConcurrency(a.state, {
      runId: "r",
      priority: 0,
      now: 10,
      limit: 1,
      slotTtlMs: 1_000,
      owner: "B",
    });
    expect(b.result.admitted).toBe(true);
    expect(renewConcurrency(b.state, "r", 20, 1_000, "A").result).toBe("taken");
    const afterA = releaseConcurrency(b.state, "r", 1, 20, "A").state;
    expect(parseGate(afterA).holders).toEqual({ r: 1_010 });
    expect(renewConcurrency(afterA, "r", 30, 1_000, "B").result).toBe(true);
    expect(parseGate(releaseConcurrency(afterA, "r", 1, 30, "B").state).holders).toBeUndefined();
  });
});
