/**
 * Which rows a batch changed, without knowing what each event type does: the run's step, wait and hook maps are
 * `TrackedMap`s that remember every row the shared materialiser reached (by key or by walking the map) while it
 * applied the batch. Rows live only in these maps, so a row it changed is a row it reached; the append sends
 * exactly those, and an event type added to `applyEvents` later (as `run_retried` re-opening failed steps and
 * hooks was) is written correctly with no change here. An event that walks a whole map (a run's end walks its
 * hooks, a retry its steps and waits) sends that map's rows: rare events, bounded by the run's size.
 */
import type { RunState } from "@wfkit/world";

export class TrackedMap<K, V> extends Map<K, V> {
  private readonly reached = new Set<K>();

  /** Keys whose rows were reached since the last `take`, which forgets them. */
  take(): K[] {
    const keys = [...this.reached];
    this.reached.clear();
    return keys;
  }

  override get(key: K): V | undefined {
    const value = super.get(key);
    if (value !== undefined) this.reached.add(key);
    return value;
  }

  override set(key: K, value: V): this {
    // Map's constructor calls set() before this class's fields exist: entries given to it are not "reached".
    this.reached?.add(key);
    return super.set(key, value);
  }

  override forEach(fn: (value: V, key: K, map: Map<K, V>) => void, thisArg?: unknown): void {
    for (const [key, value] of this.entries()) fn.call(thisArg, value, key, this);
  }

  override *entries(): MapIterator<[K, V]> {
    for (const entry of super.entries()) {
      this.reached.add(entry[0]);
      yield entry;
    }
  }

  override *values(): MapIterator<V> {
    for (const [, value] of this.entries()) yield value;
  }

  override [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }
}

/** Gives a state tracked maps (once; a state the world loaded has them already). */
export function tracked(state: RunState): RunState {
  if (!(state.steps instanceof TrackedMap)) state.steps = new TrackedMap(state.steps);
  if (!(state.waits instanceof TrackedMap)) state.waits = new TrackedMap(state.waits);
  if (!(state.hooks instanceof TrackedMap)) state.hooks = new TrackedMap(state.hooks);
  return state;
}

/** Forgets what was reached so far (before a batch is applied). */
export function forgetReached(state: RunState): void {
  takeReached(state);
}

/** The IDs of the rows reached since `forgetReached`, per map. */
export function takeReached(state: RunState): { steps: string[]; waits: string[]; hooks: string[] } {
  const t = tracked(state);
  return {
    steps: (t.steps as TrackedMap<string, unknown>).take(),
    waits: (t.waits as TrackedMap<string, unknown>).take(),
    hooks: (t.hooks as TrackedMap<string, unknown>).take(),
  };
}
