/**
 * The state of one flow gate and the decisions taken on it: pure functions from the stored JSON to the next JSON
 * and an answer, so that a world can apply them atomically (`FlowGateWorld.updateFlowGate` may call them more
 * than once when another process changed the gate in between). `flow-control.ts` wires them into the engine.
 *
 * One shape serves the three kinds of gate:
 * - concurrency: `holders` (runs executing now, each with the expiry of its slot, renewed with the run's lease,
 *   so that a process that died frees its slots when they expire) and `waiting`;
 * - throttle: `starts` (runs admitted within the last period) and `waiting`;
 * - debounce: `pending` (the run a burst collapses into, the latest arguments and when it may start) and `fired`
 *   (the arguments of the run that started last, kept until that run recorded them).
 *
 * `waiting` is ordered by priority (higher first), then by arrival. With `free` slots, the first `free` waiters are
 * admitted when they ask; a newcomer is placed in that order first, so it never overtakes a waiter of higher or
 * equal priority that asked before it.
 */

export interface Waiter {
  runId: string;
  priority: number;
  /** When it first asked (epoch ms). */
  since: number;
}

export interface GateState {
  holders?: Record<string, number>;
  /** The process (engine owner ID) holding each slot: only it gives the slot back or renews it. */
  by?: Record<string, string>;
  starts?: { runId: string; at: number }[];
  waiting?: Waiter[];
  pending?: { runId: string; until: number; input: string };
  fired?: { runId: string; input: string };
  /** The limit and period of the latest ask, for sweeps (which know no workflow's settings). */
  limit?: number;
  periodMs?: number;
}

type Update<T> = { state: string | undefined; result: T };

export function parseGate(raw: string | undefined): GateState {
  return raw === undefined ? {} : (JSON.parse(raw) as GateState);
}

/** The stored form: undefined (delete the gate) once nothing is left in it. */
function store(state: GateState): string | undefined {
  const out: GateState = {};
  if (state.holders && Object.keys(state.holders).length > 0) {
    out.holders = state.holders;
    if (state.by) out.by = state.by;
  }
  if (state.starts && state.starts.length > 0) out.starts = state.starts;
  if (state.waiting && state.waiting.length > 0) out.waiting = state.waiting;
  if (state.pending) out.pending = state.pending;
  if (state.fired) out.fired = state.fired;
  if (Object.keys(out).length === 0) return undefined;
  if (state.limit !== undefined) out.limit = state.limit;
  if (state.periodMs !== undefined) out.periodMs = state.periodMs;
  return JSON.stringify(out);
}

function byPriority(a: Waiter, b: Waiter): number {
  return b.priority - a.priority || a.since - b.since || (a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0);
}

/** Places the run among the waiters (once) and answers its position. */
function enqueue(state: GateState, waiter: Waiter): number {
  state.waiting ??= [];
  const waiting = state.waiting;
  let at = waiting.findIndex((w) => w.runId === waiter.runId);
  if (at < 0) {
    waiting.push(waiter);
    waiting.sort(byPriority);
    at = waiting.findIndex((w) => w.runId === waiter.runId);
  }
  return at;
}

function dequeue(state: GateState, runId: string): void {
  if (state.waiting) state.waiting = state.waiting.filter((w) => w.runId !== runId);
}

function liveHolders(state: GateState, now: number): Record<string, number> {
  const holders: Record<string, number> = {};
  const by: Record<string, string> = {};
  for (const [runId, expiresAt] of Object.entries(state.holders ?? {})) {
    if (expiresAt <= now) continue;
    holders[runId] = expiresAt;
    const owner = state.by?.[runId];
    if (owner !== undefined) by[runId] = owner;
  }
  state.holders = holders;
  state.by = by;
  return holders;
}

function recentStarts(state: GateState, periodMs: number, now: number) {
  state.starts = (state.starts ?? []).filter((s) => s.at > now - periodMs);
  return state.starts;
}

export interface AskInput {
  runId: string;
  priority: number;
  now: number;
  /** The engine asking (its lease owner ID); concurrency slots are held by it. */
  owner?: string;
}

/**
 * A run asks for a concurrency slot. A run that holds one (its executor died and another took it over, or it asks
 * again) keeps it; otherwise it gets one when it is among the first waiters that the free slots cover.
 */
export function askConcurrency(
  raw: string | undefined,
  ask: AskInput & { limit: number; slotTtlMs: number },
): Update<{ admitted: boolean; position: number }> {
  const state = parseGate(raw);
  state.limit = ask.limit;
  const holders = liveHolders(state, ask.now);
  if (holders[ask.runId] !== undefined) {
    // The run holds a slot already (its lease moved here from a process that lost it): it is this process's now.
    holders[ask.runId] = ask.now + ask.slotTtlMs;
    if (ask.owner !== undefined) state.by![ask.runId] = ask.owner;
    dequeue(state, ask.runId);
    return { state: store(state), result: { admitted: true, position: 0 } };
  }
  const free = ask.limit - Object.keys(holders).length;
  const position = enqueue(state, { runId: ask.runId, priority: ask.priority, since: ask.now });
  if (position < free) {
    dequeue(state, ask.runId);
    holders[ask.runId] = ask.now + ask.slotTtlMs;
    if (ask.owner !== undefined) state.by![ask.runId] = ask.owner;
    return { state: store(state), result: { admitted: true, position: 0 } };
  }
  return { state: store(state), result: { admitted: false, position: position - Math.max(0, free) } };
}

/**
 * Extends the run's slot: true; false when it no longer holds one (it expired and the gate moved on); `"taken"` when
 * another process holds it now (it took the run over).
 */
export function renewConcurrency(
  raw: string | undefined,
  runId: string,
  now: number,
  slotTtlMs: number,
  owner?: string,
): Update<boolean | "taken"> {
  const state = parseGate(raw);
  const holders = liveHolders(state, now);
  if (holders[runId] === undefined) return { state: store(state), result: false };
  if (owner !== undefined && state.by![runId] !== undefined && state.by![runId] !== owner) {
    return { state: raw, result: "taken" };
  }
  holders[runId] = now + slotTtlMs;
  return { state: store(state), result: true };
}

/** The run gives its slot back (it waits, or it ended); answers the waiters the free slots now cover. */
export function releaseConcurrency(
  raw: string | undefined,
  runId: string,
  limit: number,
  now: number,
  owner?: string,
): Update<string[]> {
  const state = parseGate(raw);
  const holders = liveHolders(state, now);
  // A process that lost the run gives back nothing: the slot is the new executor's.
  if (owner === undefined || state.by![runId] === undefined || state.by![runId] === owner) {
    delete holders[runId];
    delete state.by![runId];
  }
  dequeue(state, runId);
  const free = limit - Object.keys(holders).length;
  return {
    state: store(state),
    result: (state.waiting ?? []).slice(0, Math.max(0, free)).map((w) => w.runId),
  };
}

/**
 * A run asks to start under a throttle of `limit` starts per `periodMs`. Admitted runs are counted for one period;
 * a run already counted in the period passes again (it asks once more after waiting for a concurrency slot).
 * `retryAt`: when a start leaves the period, so that this run's turn can come.
 */
export function askThrottle(
  raw: string | undefined,
  ask: AskInput & { limit: number; periodMs: number },
): Update<{ admitted: boolean; retryAt?: number; position: number }> {
  const state = parseGate(raw);
  state.limit = ask.limit;
  state.periodMs = ask.periodMs;
  const starts = recentStarts(state, ask.periodMs, ask.now);
  if (starts.some((s) => s.runId === ask.runId)) {
    dequeue(state, ask.runId);
    return { state: store(state), result: { admitted: true, position: 0 } };
  }
  const free = ask.limit - starts.length;
  const position = enqueue(state, { runId: ask.runId, priority: ask.priority, since: ask.now });
  if (position < free) {
    dequeue(state, ask.runId);
    starts.push({ runId: ask.runId, at: ask.now });
    return { state: store(state), result: { admitted: true, position: 0 } };
  }
  // The (position - free)-th oldest start leaving the period frees the slot this run gets.
  const behind = position - Math.max(0, free);
  const sorted = [...starts].sort((a, b) => a.at - b.at);
  const leaving = sorted[Math.min(behind, sorted.length - 1)];
  const retryAt = leaving ? leaving.at + ask.periodMs : ask.now + ask.periodMs;
  return { state: store(state), result: { admitted: false, retryAt, position: behind } };
}

/**
 * A start under a debounce: when a run of the key has not started yet, the start joins it (its arguments become
 * the run's, and the period begins again); otherwise `runId` is the new pending run.
 */
export function joinDebounce(
  raw: string | undefined,
  start: { runId: string; input: string; periodMs: number; now: number },
): Update<{ runId: string; created: boolean }> {
  const state = parseGate(raw);
  if (state.pending) {
    state.pending.input = start.input;
    state.pending.until = start.now + start.periodMs;
    return { state: store(state), result: { runId: state.pending.runId, created: false } };
  }
  state.pending = { runId: start.runId, input: start.input, until: start.now + start.periodMs };
  return { state: store(state), result: { runId: start.runId, created: true } };
}

/**
 * The debounced run asks to start: before the period ended it waits until `retryAt`; after, it starts with the
 * latest arguments (`input`), and later starts make a new run. Asking again before the run recorded them answers
 * the same arguments (`fired`); a run the gate does not know starts with its own arguments.
 */
export function fireDebounce(
  raw: string | undefined,
  runId: string,
  now: number,
): Update<{ admitted: boolean; input?: string; retryAt?: number }> {
  const state = parseGate(raw);
  if (state.pending?.runId === runId) {
    if (state.pending.until > now) {
      return { state: raw, result: { admitted: false, retryAt: state.pending.until } };
    }
    const input = state.pending.input;
    state.fired = { runId, input };
    delete state.pending;
    return { state: store(state), result: { admitted: true, input } };
  }
  if (state.fired?.runId === runId)
    return { state: raw, result: { admitted: true, input: state.fired.input } };
  return { state: raw, result: { admitted: true } };
}

/** The run recorded its arguments: the gate forgets them. */
export function forgetFired(raw: string | undefined, runId: string): Update<void> {
  const state = parseGate(raw);
  if (state.fired?.runId !== runId) return { state: raw, result: undefined };
  delete state.fired;
  return { state: store(state), result: undefined };
}

/** Removes runs from the waiters (they ended or no longer exist). */
export function dropWaiters(raw: string | undefined, runIds: readonly string[]): Update<void> {
  const state = parseGate(raw);
  const drop = new Set(runIds);
  if (state.waiting) state.waiting = state.waiting.filter((w) => !drop.has(w.runId));
  if (state.holders) for (const id of drop) delete state.holders[id];
  if (state.by) for (const id of drop) delete state.by[id];
  if (state.pending && drop.has(state.pending.runId)) delete state.pending;
  return { state: store(state), result: undefined };
}

/**
 * What a sweep should drive on a gate it reads: the waiters that free capacity covers now (expired slots and starts
 * that left the period count as free, under the limit of the latest ask), or the debounced run once its period
 * ended.
 */
export function dueOnGate(kind: string, state: GateState, now: number): string[] {
  if (kind === "debounce") return state.pending && state.pending.until <= now ? [state.pending.runId] : [];
  const waiting = state.waiting ?? [];
  if (waiting.length === 0) return [];
  const limit = state.limit ?? 1;
  const used =
    kind === "concurrency"
      ? Object.values(state.holders ?? {}).filter((expiresAt) => expiresAt > now).length
      : (state.starts ?? []).filter((s) => s.at > now - (state.periodMs ?? 0)).length;
  return waiting.slice(0, Math.max(0, limit - used)).map((w) => w.runId);
}

/**
 * Whether nothing in the gate matters any more (no waiter, no pending or fired debounce, every slot expired, every
 * start out of its period): a sweep then deletes it, so that keys used once do not stay forever.
 */
export function isSpent(state: GateState, now: number): boolean {
  if ((state.waiting ?? []).length > 0 || state.pending || state.fired) return false;
  if (Object.values(state.holders ?? {}).some((expiresAt) => expiresAt > now)) return false;
  return !(state.starts ?? []).some((s) => s.at > now - (state.periodMs ?? 0));
}

/** Deletes a spent gate (`isSpent`), or leaves it as it is if it is in use again. */
export function deleteIfSpent(raw: string | undefined, now: number): Update<void> {
  if (raw === undefined || !isSpent(parseGate(raw), now)) return { state: raw, result: undefined };
  return { state: undefined, result: undefined };
}

/** Whether the run waits on this gate (`wf inspect runs`). */
export function isWaiting(state: GateState, runId: string): boolean {
  if (state.pending?.runId === runId) return true;
  return (state.waiting ?? []).some((w) => w.runId === runId);
}
