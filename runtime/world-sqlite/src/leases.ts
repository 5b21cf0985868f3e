/**
 * Lease decisions on the four lease columns of a run row (owner, fencing token, expiry, held). Pure functions
 * that the world calls inside its write transactions, where the row cannot change under them. Expiry is judged
 * by the clock of the process that writes: every process sharing the file runs on one machine, so they agree.
 */
import type { Lease } from "@wfkit/world";

export interface LeaseSlot {
  owner: string | null;
  token: number;
  expiresAt: number | null;
  held: boolean;
}

export interface LeaseColumns {
  lease_owner: string | null;
  lease_token: number;
  lease_expires_at: number | null;
  lease_held: number;
}

export function slotOf(row: LeaseColumns): LeaseSlot {
  return {
    owner: row.lease_owner,
    token: row.lease_token,
    expiresAt: row.lease_expires_at,
    held: row.lease_held === 1,
  };
}

function live(slot: LeaseSlot, now: number): boolean {
  return slot.held && slot.expiresAt !== null && slot.expiresAt > now;
}

/**
 * `acquireLease`: a live lease of another owner refuses (undefined); the owner's own live lease is renewed with
 * its token; a free or expired one is taken with the next token.
 */
export function acquire(slot: LeaseSlot, owner: string, ttlMs: number, now: number): LeaseSlot | undefined {
  if (live(slot, now)) {
    if (slot.owner !== owner) return undefined;
    return { ...slot, expiresAt: now + ttlMs };
  }
  return { owner, token: slot.token + 1, expiresAt: now + ttlMs, held: true };
}

/** Whether `lease` is the one held in `slot`, whatever its expiry (renew and release accept an expired one). */
export function holds(slot: LeaseSlot, lease: Lease): boolean {
  return slot.held && slot.owner === lease.owner && slot.token === lease.token;
}

/** Whether an append under `lease` may write: held, same owner and token, not expired. */
export function fences(slot: LeaseSlot, lease: Lease, now: number): boolean {
  return holds(slot, lease) && live(slot, now);
}

export function leaseOf(runId: string, slot: LeaseSlot): Lease {
  return { runId, owner: slot.owner ?? "", token: slot.token, expiresAt: slot.expiresAt ?? 0 };
}
