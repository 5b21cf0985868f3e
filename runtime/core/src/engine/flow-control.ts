/**
 * Flow control in the engine: concurrency keys, throttles, debounces and start priority, enforced across every
 * process of a world through its flow gates (`FlowGateWorld`, decisions in `flow-gate-state.ts`).
 *
 * What a run is subject to is decided once, by `start()` in the caller's process (where the workflow function's
 * `concurrency` / `throttle` / `debounce` properties and their key functions live), and recorded in the run's
 * `run_created` metadata as `flow` (`FlowSpec`). Any executor then enforces it without the key functions:
 * - before a run records `run_started`: the debounce (wait for the period to end, take the latest arguments), then
 *   the throttle (wait for a start of the period);
 * - every time an executor takes the run up to execute it: a concurrency slot. The run gives the slot back when it
 *   only waits (sleep, hook, retry back-off, child run) or ends; the slot's expiry follows the run's lease, so a
 *   process that died frees it once that expires.
 * A run refused admission is left with its lease released and waits in the gate; it is driven again when a slot
 * frees (by the process that freed it), when its throttle period or debounce ends (a timer here), and by the sweep
 * of every executing process (a crash, a lost kick).
 */
import {
  type FlowGateWorld,
  flowGatesOf,
  isWorldError,
  type RunRecord,
  TERMINAL_RUN_STATUSES,
  type World,
} from "@wfkit/world";
import {
  askConcurrency,
  askThrottle,
  deleteIfSpent,
  dropWaiters,
  dueOnGate,
  fireDebounce,
  forgetFired,
  isSpent,
  isWaiting,
  parseGate,
  releaseConcurrency,
  renewConcurrency,
} from "./flow-gate-state.js";

/** What a run is subject to: `run_created.data.metadata.flow`, made by `start()`. */
export interface FlowSpec {
  /** Higher first among runs waiting on the same gate. Default 0. */
  priority?: number;
  concurrency?: { gate: string; limit: number };
  throttle?: { gate: string; limit: number; periodMs: number };
  debounce?: { gate: string; periodMs: number };
}

/** Why a run waits (`RunInfo.waitingFor`, `wf inspect runs`). */
export type WaitingFor = "throttled" | "debounced" | "concurrency";

/** Thrown where flow control is asked of a world that has no flow gates. */
export class FlowControlUnsupportedError extends Error {
  readonly code = "FLOW_CONTROL_UNSUPPORTED";
  constructor(worldName: string, what: string) {
    super(
      `${what} needs flow gates, which the "${worldName}" world does not have (it does not implement ` +
        "readFlowGate/updateFlowGate/listFlowGates). Use the local, Postgres, SQLite or Redis world, or remove " +
        "the workflow's concurrency/throttle/debounce settings. (see docs: errors/flow-control-unsupported)",
    );
    this.name = "FlowControlUnsupportedError";
  }
}

/**
 * The log as the workflow code must see it: a run whose `run_started` recorded other arguments (a debounced run)
 * starts with those, and so does a run about to record them (`startInput`).
 */
export function withStartInput<E extends { type: string; data?: unknown }>(
  events: readonly E[],
  startInput: string | undefined,
): E[] {
  const started = events.find((e) => e.type === "run_started");
  const input = (started?.data as { input?: string } | undefined)?.input ?? startInput;
  const first = events[0];
  if (input === undefined || first?.type !== "run_created" || !first.data) return events as E[];
  return [{ ...first, data: { ...(first.data as object), input } } as E, ...events.slice(1)];
}

export function flowSpecOf(metadata: Record<string, unknown> | undefined): FlowSpec | undefined {
  const flow = metadata?.flow as FlowSpec | undefined;
  if (!flow || typeof flow !== "object") return undefined;
  return flow.concurrency || flow.throttle || flow.debounce ? flow : undefined;
}

export function gatesOrThrow(world: World, what: string): World & FlowGateWorld {
  const gates = flowGatesOf(world);
  if (!gates) throw new FlowControlUnsupportedError(world.name, what);
  return gates;
}

export type Admission =
  | { admitted: true; input?: string }
  | { admitted: false; waitingFor: WaitingFor; retryAt?: number };

export interface FlowControlContext {
  now(): number;
  /** How long a concurrency slot lasts without renewal: the lease TTL. */
  readonly slotTtlMs: number;
  /** This engine's lease owner ID: the holder of the slots it takes. */
  readonly owner: string;
  /** Drive a run that may now be admitted (a notification-like drive: the lease decides who does). */
  kick(runId: string): void;
  onError(error: unknown, runId: string): void;
}

const SWEEP_GATES = 1_000;

export class FlowControl {
  /** Runs holding a concurrency slot through this process, with their gate. */
  private readonly holding = new Map<string, { gate: string; limit: number }>();

  constructor(private readonly ctx: FlowControlContext) {}

  holds(runId: string): boolean {
    return this.holding.has(runId);
  }

  /**
   * Decides whether the run may execute now. `started`: the run already recorded `run_started` (only the
   * concurrency limit applies then).
   */
  async admit(world: World, runId: string, spec: FlowSpec, started: boolean): Promise<Admission> {
    const gates = gatesOrThrow(world, `Run ${runId} has flow control; executing it`);
    const priority = spec.priority ?? 0;
    let input: string | undefined;
    if (!started && spec.debounce) {
      const now = this.ctx.now();
      const fired = await gates.updateFlowGate(spec.debounce.gate, (raw) => fireDebounce(raw, runId, now));
      if (!fired.admitted) return { admitted: false, waitingFor: "debounced", retryAt: fired.retryAt };
      input = fired.input;
    }
    if (!started && spec.throttle) {
      const { limit, periodMs, gate } = spec.throttle;
      const now = this.ctx.now();
      const asked = await gates.updateFlowGate(gate, (raw) =>
        askThrottle(raw, { runId, priority, now, limit, periodMs }),
      );
      if (!asked.admitted) return { admitted: false, waitingFor: "throttled", retryAt: asked.retryAt };
    }
    if (spec.concurrency) {
      const { limit, gate } = spec.concurrency;
      const now = this.ctx.now();
      const slotTtlMs = this.ctx.slotTtlMs;
      const asked = await gates.updateFlowGate(gate, (raw) =>
        askConcurrency(raw, { runId, priority, now, limit, slotTtlMs, owner: this.ctx.owner }),
      );
      if (!asked.admitted) return { admitted: false, waitingFor: "concurrency" };
      this.holding.set(runId, { gate, limit });
    }
    return input === undefined ? { admitted: true } : { admitted: true, input };
  }

  /**
   * The run stops executing here (it waits or ended): its slot goes back, and the waiters it covers are driven.
   * Never rejects (errors go to `onError`); resolves once the gate is written and the waiters are kicked.
   */
  release(world: World, runId: string): Promise<void> {
    const held = this.holding.get(runId);
    if (!held) return Promise.resolve();
    this.holding.delete(runId);
    const gates = flowGatesOf(world);
    if (!gates) return Promise.resolve();
    const now = this.ctx.now();
    return gates
      .updateFlowGate(held.gate, (raw) => releaseConcurrency(raw, runId, held.limit, now, this.ctx.owner))
      .then(
        (next) => {
          for (const id of next) this.ctx.kick(id);
        },
        (error) => this.ctx.onError(error, runId),
      );
  }

  /** Extends the slots of the runs executing here (with their leases). A slot found expired is taken again. */
  async renew(world: World, runIds: Iterable<string>): Promise<void> {
    const gates = flowGatesOf(world);
    if (!gates) return;
    for (const runId of runIds) {
      const held = this.holding.get(runId);
      if (!held) continue;
      const now = this.ctx.now();
      const slotTtlMs = this.ctx.slotTtlMs;
      try {
        const kept = await gates.updateFlowGate(held.gate, (raw) =>
          renewConcurrency(raw, runId, now, slotTtlMs, this.ctx.owner),
        );
        if (kept === "taken") {
          // Another process took the run over (this one lost its lease): the slot is its now.
          this.holding.delete(runId);
        } else if (!kept) {
          // The slot expired (this process stalled longer than the lease); ask again rather than exceed the limit
          // silently: a refusal is only logged, as the lease renewal decides whether the run goes on here.
          const asked = await gates.updateFlowGate(held.gate, (raw) =>
            askConcurrency(raw, {
              runId,
              priority: 0,
              now,
              limit: held.limit,
              slotTtlMs,
              owner: this.ctx.owner,
            }),
          );
          if (!asked.admitted)
            this.ctx.onError(new Error(`Run ${runId} lost its concurrency slot on ${held.gate}`), runId);
        }
      } catch (error) {
        this.ctx.onError(error, runId);
      }
    }
  }

  /**
   * Drives what the gates say may go on: waiters that expired slots or past throttle periods now cover, debounced
   * runs whose period ended. Waiters that ended or no longer exist are dropped from their gate.
   */
  async sweep(world: World, skip: (runId: string) => boolean): Promise<void> {
    const gates = flowGatesOf(world);
    if (!gates) return;
    const now = this.ctx.now();
    for (const gateId of await gates.listFlowGates(SWEEP_GATES)) {
      const record = await gates.readFlowGate(gateId);
      if (!record) continue;
      const kind = gateId.slice(0, gateId.indexOf(":"));
      const state = parseGate(record.state);
      const fired = state.fired?.runId;
      if (fired && !state.pending) {
        // The debounced run recorded the arguments it started with: the gate need not keep them.
        const run = await world.getRun(fired);
        if (!run || run.startedAt !== undefined || TERMINAL_RUN_STATUSES.includes(run.status)) {
          await gates.updateFlowGate(gateId, (raw) => forgetFired(raw, fired));
          continue;
        }
      }
      if (isSpent(state, now)) {
        await gates.updateFlowGate(gateId, (raw) => deleteIfSpent(raw, now));
        continue;
      }
      const due = dueOnGate(kind, state, now);
      const gone: string[] = [];
      for (const runId of due) {
        if (skip(runId)) continue;
        const run = await world.getRun(runId);
        // A debounced run is stored just after its gate entry: a missing one is only dropped once long gone.
        if (!run ? now - record.updatedAt > 60_000 : TERMINAL_RUN_STATUSES.includes(run.status))
          gone.push(runId);
        else if (run) this.ctx.kick(runId);
      }
      if (gone.length > 0) await gates.updateFlowGate(gateId, (raw) => dropWaiters(raw, gone));
    }
  }

  /** Why the run waits, if it waits on a gate (for operators). */
  static async waitingFor(world: World, run: RunRecord): Promise<WaitingFor | undefined> {
    if (TERMINAL_RUN_STATUSES.includes(run.status)) return undefined;
    const spec = flowSpecOf(run.metadata);
    const gates = spec && flowGatesOf(world);
    if (!spec || !gates) return undefined;
    const checks: [WaitingFor, string | undefined][] = [
      ["debounced", spec.debounce?.gate],
      ["throttled", spec.throttle?.gate],
      ["concurrency", spec.concurrency?.gate],
    ];
    for (const [why, gate] of checks) {
      if (!gate) continue;
      try {
        const record = await gates.readFlowGate(gate);
        if (record && isWaiting(parseGate(record.state), run.runId)) return why;
      } catch (error) {
        if (!isWorldError(error)) throw error;
      }
    }
    return undefined;
  }
}
