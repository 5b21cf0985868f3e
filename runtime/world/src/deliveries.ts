/**
 * Deliveries: events from outside a run (hook payloads) recorded without the run's lease, until its executor
 * consumes them by appending them to the log (`World.deliver`). This module holds what every world decides the
 * same way: which deliveries are well formed, which IDs a batch consumes, and (for worlds that keep their rows in
 * memory: memory, local files) the bookkeeping of pending and consumed IDs per run.
 */
import { WorldError } from "./errors.js";
import type { Delivery, DeliveryRun, NewDelivery, NewEvent } from "./types.js";

/** Refuses a malformed delivery before any world touches storage. */
export function checkDelivery(runId: string, delivery: NewDelivery): void {
  const { deliveryId, event } = delivery ?? {};
  if (typeof deliveryId !== "string" || deliveryId.length === 0 || deliveryId.length > 200) {
    throw new WorldError(
      "INVALID_EVENT",
      `A delivery to run ${runId} needs a deliveryId of 1-200 characters (got ${describe(deliveryId)}).`,
    );
  }
  if (deliveryId.includes("\u0000")) {
    throw new WorldError(
      "INVALID_EVENT",
      `The deliveryId of a delivery to run ${runId} contains a NUL character.`,
    );
  }
  if (event?.type !== "hook_received" || typeof event.correlationId !== "string" || !event.correlationId) {
    throw new WorldError(
      "INVALID_EVENT",
      `A delivery to run ${runId} must carry a "hook_received" event with the hook's correlationId ` +
        `(got ${describe(event?.type)}); other events are appended by the run's executor.`,
    );
  }
  if (typeof event.data?.payload !== "string") {
    throw new WorldError(
      "INVALID_EVENT",
      `The hook_received event of delivery ${deliveryId} to run ${runId} has no serialized payload string.`,
    );
  }
}

/** The delivery IDs a batch of events consumes (its `hook_received` events that name one). */
export function consumedDeliveryIds(events: readonly NewEvent[]): string[] {
  const ids: string[] = [];
  for (const e of events) {
    if (e.type === "hook_received" && e.data?.deliveryId !== undefined) ids.push(e.data.deliveryId);
  }
  return ids;
}

function describe(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value.slice(0, 40)) : typeof value;
}

interface RunDeliveries {
  pending: Map<string, Delivery>;
  consumed: Set<string>;
}

/**
 * Pending and consumed deliveries of every run, in memory. The memory world keeps them here; the local world
 * rebuilds them from its files. Consumed IDs are remembered while the run is unfinished so that a retried
 * `deliver` of a consumed delivery stays a duplicate; a finished run forgets everything (deliveries to it are
 * refused).
 */
export class DeliveryBook {
  private readonly runs = new Map<string, RunDeliveries>();

  /** Records a delivery unless its ID is known; returns the stored one and whether it was a duplicate. */
  record(delivery: Delivery): { delivery: Delivery; duplicate: boolean } {
    const run = this.runOf(delivery.runId);
    const stored = run.pending.get(delivery.deliveryId);
    if (stored) return { delivery: stored, duplicate: true };
    if (run.consumed.has(delivery.deliveryId)) return { delivery, duplicate: true };
    run.pending.set(delivery.deliveryId, delivery);
    return { delivery, duplicate: false };
  }

  /** Whether the run already has this delivery ID (pending or consumed). */
  has(runId: string, deliveryId: string): boolean {
    const run = this.runs.get(runId);
    return !!run && (run.pending.has(deliveryId) || run.consumed.has(deliveryId));
  }

  /** An append committed these events: the deliveries they name are consumed. */
  consume(runId: string, events: readonly NewEvent[]): void {
    const ids = consumedDeliveryIds(events);
    if (ids.length === 0) return;
    const run = this.runOf(runId);
    for (const id of ids) {
      run.pending.delete(id);
      run.consumed.add(id);
    }
  }

  /** Pending deliveries of a run, in the order recorded. */
  pending(runId: string): Delivery[] {
    const run = this.runs.get(runId);
    return run ? [...run.pending.values()] : [];
  }

  /** Runs with a pending delivery recorded at or before `before`, oldest first. */
  dueRuns(before: number, limit = 100): DeliveryRun[] {
    const out: DeliveryRun[] = [];
    for (const [runId, run] of this.runs) {
      const first = run.pending.values().next().value as Delivery | undefined;
      if (first && first.createdAt <= before) out.push({ runId, since: first.createdAt });
    }
    out.sort((a, b) => a.since - b.since || (a.runId < b.runId ? -1 : 1));
    return out.slice(0, Math.max(0, limit));
  }

  /** The run ended: nothing will consume what is pending, and nothing more is accepted. */
  forget(runId: string): void {
    this.runs.delete(runId);
  }

  private runOf(runId: string): RunDeliveries {
    let run = this.runs.get(runId);
    if (!run) {
      run = { pending: new Map(), consumed: new Set() };
      this.runs.set(runId, run);
    }
    return run;
  }
}
