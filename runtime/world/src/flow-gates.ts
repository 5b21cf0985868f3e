/**
 * [addition, flow control] Flow gates: small named records that every process on a world reads and changes
 * atomically. The engine keeps one per concurrency key, throttle key and debounce key of a workflow (who holds a
 * slot, who waits, which starts fell in the current period, which run a burst collapses into) and decides
 * admission from it; a world only stores the record and makes each change atomic across its processes.
 *
 * A world offers them by implementing `FlowGateWorld`; `flowGatesOf` tells whether it does. The state is an
 * engine-made JSON string the world never interprets.
 */
import { WorldError } from "./errors.js";
import type { World } from "./types.js";

export interface FlowGateRecord {
  gateId: string;
  /** Engine-made JSON. */
  state: string;
  /** Increases by one with every change (what a world's compare-and-set compares). */
  version: number;
  /** Epoch ms of the last change. */
  updatedAt: number;
}

/**
 * Computes a gate's next state from its current one (`undefined`: no such gate). Returning `state: undefined`
 * deletes the gate. Must be synchronous and pure: a world may call it more than once (it retries when another
 * process changed the gate in between) and applies only the last call's answer.
 */
export type FlowGateUpdate<T> = (current: string | undefined) => { state: string | undefined; result: T };

export interface FlowGateWorld {
  /** The gate as stored, or undefined. */
  readFlowGate(gateId: string): Promise<FlowGateRecord | undefined>;
  /**
   * Atomically replaces the gate's state with what `update` computes from the stored one (across every process
   * sharing the world) and resolves with the `result` of the call whose answer was stored. `update` throwing
   * stores nothing and rejects with its error.
   */
  updateFlowGate<T>(gateId: string, update: FlowGateUpdate<T>): Promise<T>;
  /** IDs of every stored gate, in ID order, at most `limit` (default 1000). */
  listFlowGates(limit?: number): Promise<string[]>;
}

/** The world's flow gates, or undefined when it has none. */
export function flowGatesOf(world: World): (World & FlowGateWorld) | undefined {
  const w = world as World & Partial<FlowGateWorld>;
  return typeof w.readFlowGate === "function" &&
    typeof w.updateFlowGate === "function" &&
    typeof w.listFlowGates === "function"
    ? (w as World & FlowGateWorld)
    : undefined;
}

/** Gate IDs are at most this long (a key function's result is part of it). */
export const MAX_FLOW_GATE_ID_LENGTH = 1_000;

export function checkFlowGateId(gateId: string): void {
  if (typeof gateId !== "string" || gateId.length === 0 || gateId.length > MAX_FLOW_GATE_ID_LENGTH) {
    throw new WorldError(
      "INVALID_FLOW_GATE",
      `A flow gate ID must be a string of 1-${MAX_FLOW_GATE_ID_LENGTH} characters, got ${typeof gateId === "string" ? `${gateId.length} characters` : typeof gateId}.`,
    );
  }
  if (gateId.includes("\u0000")) {
    throw new WorldError("INVALID_FLOW_GATE", "A flow gate ID must not contain a NUL character.");
  }
}

/**
 * `updateFlowGate` over a compare-and-set primitive, for worlds whose storage has one: reads the gate, computes,
 * and writes only if the version is still the one read, retrying with a short random back-off when another process
 * won. `read` answers the stored version even for a deleted gate (`state` undefined) so that versions never repeat
 * (a gate deleted and created again must not match a version read before); `expected` 0: no row at all yet.
 * Writing `undefined` deletes the gate (a world keeps the row and its version).
 */
export async function updateByCompareAndSet<T>(
  gateId: string,
  update: FlowGateUpdate<T>,
  read: () => Promise<{ state: string | undefined; version: number } | undefined>,
  write: (expected: number, state: string | undefined) => Promise<boolean>,
): Promise<T> {
  checkFlowGateId(gateId);
  for (let attempt = 0; ; attempt++) {
    const current = await read();
    const next = update(current?.state);
    if (next.state === current?.state) return next.result;
    if (await write(current?.version ?? 0, next.state)) return next.result;
    // Lost the race: someone changed the gate in between. Back off a little so that a hot gate does not spin.
    if (attempt >= 2) await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 ** attempt)));
  }
}

/**
 * Flow gates in process memory: the memory world's, and the in-memory part of worlds that persist the map
 * themselves (`onChange` is told after every change). Changes are synchronous, hence atomic within the process.
 */
export class MemoryFlowGates implements FlowGateWorld {
  private readonly gates = new Map<string, FlowGateRecord>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly onChange?: (gates: ReadonlyMap<string, FlowGateRecord>) => Promise<void> | void,
  ) {}

  /** Replaces the whole map (a world loading what it persisted). */
  load(records: Iterable<FlowGateRecord>): void {
    this.gates.clear();
    for (const r of records) this.gates.set(r.gateId, r);
  }

  snapshot(): FlowGateRecord[] {
    return [...this.gates.values()];
  }

  async readFlowGate(gateId: string): Promise<FlowGateRecord | undefined> {
    checkFlowGateId(gateId);
    const r = this.gates.get(gateId);
    return r ? { ...r } : undefined;
  }

  async updateFlowGate<T>(gateId: string, update: FlowGateUpdate<T>): Promise<T> {
    checkFlowGateId(gateId);
    const current = this.gates.get(gateId);
    const next = update(current?.state);
    if (next.state === current?.state) return next.result;
    if (next.state === undefined) this.gates.delete(gateId);
    else
      this.gates.set(gateId, {
        gateId,
        state: next.state,
        version: (current?.version ?? 0) + 1,
        updatedAt: this.now(),
      });
    await this.onChange?.(this.gates);
    return next.result;
  }

  async listFlowGates(limit = 1_000): Promise<string[]> {
    return [...this.gates.keys()].sort().slice(0, limit);
  }
}
