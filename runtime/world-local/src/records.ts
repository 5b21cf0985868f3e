/**
 * The records a run's log holds, and the rules that decide whether a record counts.
 *
 * Writers never lock: each appends its record with O_APPEND and the order of records in the file decides
 * who won. Every reader applies the same rules to the same bytes, so every process agrees:
 * - An event record counts when its first seq is exactly the next one (1 for a new log, which must begin
 *   with `run_created`), the run has not ended, and, when it was written under a lease, that lease (owner
 *   and fencing token) is still the current one at that point of the log.
 * - A lease record counts when it is a valid transition of the lease at that point of the log, judged at
 *   the writer's clock `t` that it carries (so the decision does not depend on when it is read).
 * - A delivery record (an event from outside the run, `World.deliver`) takes no seq and no lease: it counts
 *   when the run has not ended at that point of the log and its delivery ID is new to the run. An event
 *   record that counts consumes the delivery IDs its `hook_received` events name.
 * A record that does not count is a loser of a race; it stays in the file and is skipped by everyone. Its
 * writer notices on its read-back and reports the conflict.
 *
 * One thing no race can produce: an event record whose first seq is beyond the next one. Writers only write
 * head + 1 of a head they read from the same file, and the file only grows, so such a record proves that a
 * record before it is missing: the log is damaged (see `RunLog`, which quarantines the run).
 */
import type { DeliveredEvent, EventType } from "@wfkit/world";

/** An event as stored: `runId` and `seq` follow from the file and the record. */
export interface StoredEvent {
  type: EventType;
  correlationId?: string;
  data?: unknown;
  createdAt: number;
}

export interface EventRecord {
  /** Nonce: lets the writer find its own record when reading back. */
  n: string;
  /** Seq of the first event. */
  s: number;
  e: StoredEvent[];
  /** Lease owner and fencing token the writer held, when it appended under a lease. */
  lo?: string;
  lt?: number;
}

export interface LeaseRecord {
  n: string;
  /** take: a free, released or expired lease with token + 1; renew/release: the current holder. */
  L: "take" | "renew" | "release";
  o: string;
  k: number;
  /** expiresAt */
  x: number;
  /** Writer's clock when it wrote the record. */
  t: number;
}

export interface DeliveryRecord {
  n: string;
  /** Delivery ID, unique within the run. */
  d: string;
  e: DeliveredEvent;
  /** Writer's clock when it recorded the delivery (its `createdAt`). */
  t: number;
}

export type LogRecord = EventRecord | LeaseRecord | DeliveryRecord;

export interface LeaseState {
  owner: string;
  token: number;
  expiresAt: number;
  released: boolean;
}

export function isLeaseRecord(r: LogRecord): r is LeaseRecord {
  return (r as LeaseRecord).L !== undefined;
}

export function isDeliveryRecord(r: LogRecord): r is DeliveryRecord {
  return (r as DeliveryRecord).d !== undefined;
}

/** Structural check of a parsed line: a valid CRC with an unexpected shape is skipped, not trusted. */
export function asLogRecord(v: unknown): LogRecord | undefined {
  if (typeof v !== "object" || v === null) return undefined;
  const r = v as Record<string, unknown>;
  if (typeof r.n !== "string") return undefined;
  if (r.L !== undefined) {
    const ok =
      (r.L === "take" || r.L === "renew" || r.L === "release") &&
      typeof r.o === "string" &&
      typeof r.k === "number" &&
      typeof r.x === "number" &&
      typeof r.t === "number";
    return ok ? (r as unknown as LeaseRecord) : undefined;
  }
  if (r.d !== undefined) {
    const e = r.e as Record<string, unknown> | null;
    const data = e?.data as Record<string, unknown> | null | undefined;
    const ok =
      typeof r.d === "string" &&
      typeof r.t === "number" &&
      typeof e === "object" &&
      e !== null &&
      e.type === "hook_received" &&
      typeof e.correlationId === "string" &&
      typeof data?.payload === "string";
    return ok ? (r as unknown as DeliveryRecord) : undefined;
  }
  if (typeof r.s !== "number" || !Array.isArray(r.e) || r.e.length === 0) return undefined;
  for (const e of r.e as unknown[]) {
    if (typeof e !== "object" || e === null) return undefined;
    const ev = e as Record<string, unknown>;
    if (typeof ev.type !== "string" || typeof ev.createdAt !== "number") return undefined;
  }
  return r as unknown as EventRecord;
}

/** The lease after `rec`, or undefined when `rec` is not a valid transition from `cur`. */
export function nextLease(cur: LeaseState | undefined, rec: LeaseRecord): LeaseState | undefined {
  if (rec.L === "take") {
    const free = !cur || cur.released || cur.expiresAt <= rec.t;
    if (!free || rec.k !== (cur?.token ?? 0) + 1) return undefined;
    return { owner: rec.o, token: rec.k, expiresAt: rec.x, released: false };
  }
  if (!cur || cur.released || cur.owner !== rec.o || cur.token !== rec.k) return undefined;
  return rec.L === "renew" ? { ...cur, expiresAt: rec.x } : { ...cur, released: true };
}

/** Whether an event record written under lease (`lo`, `lt`) still holds it at this point of the log. */
export function leaseAllows(cur: LeaseState | undefined, rec: EventRecord): boolean {
  if (rec.lt === undefined) return true;
  return !!cur && !cur.released && cur.owner === rec.lo && cur.token === rec.lt;
}
