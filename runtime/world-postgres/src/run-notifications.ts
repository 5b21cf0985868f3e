/**
 * A world's subscribers and the NOTIFY payload that carries a change to other processes. Changes made
 * through this instance are delivered at once after commit; the same change comes back through LISTEN
 * and is recognised by the instance's origin ID and skipped, so every subscriber hears it exactly once.
 */

import { randomBytes } from "node:crypto";
import { Notifier, type RunNotification, type RunRecord } from "@wfkit/world";

/** What every append sends with `pg_notify`: the RunNotification plus the world instance that made it. */
export interface NotifyPayload extends RunNotification {
  origin: string;
}

type Kind = RunNotification["kind"];

export class RunNotifications {
  readonly origin = randomBytes(8).toString("base64url");
  private readonly notifier = new Notifier();
  /** Runs with per-run subscribers, and how many (re-checked after a LISTEN gap). */
  private readonly watched = new Map<string, number>();

  subscribe(listener: (n: RunNotification) => void, runId?: string): () => void {
    const off = this.notifier.subscribe(listener, runId);
    if (runId === undefined) return off;
    this.watched.set(runId, (this.watched.get(runId) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      off();
      const n = (this.watched.get(runId) ?? 1) - 1;
      if (n <= 0) this.watched.delete(runId);
      else this.watched.set(runId, n);
    };
  }

  /** The NOTIFY payload for a change this instance makes. */
  payload(run: Pick<RunRecord, "runId" | "lastSeq" | "status">, kind: Kind): string {
    const p: NotifyPayload = {
      origin: this.origin,
      runId: run.runId,
      lastSeq: run.lastSeq,
      status: run.status,
      kind,
    };
    return JSON.stringify(p);
  }

  /** The payload of a change whose head (`lastSeq`, `status`) the database adds, as `deliver` does. */
  headlessPayload(runId: string, kind: Kind): string {
    return JSON.stringify({ origin: this.origin, runId, kind });
  }

  deliverLocal(run: Pick<RunRecord, "runId" | "lastSeq" | "status">, kind: Kind): void {
    this.notifier.notify({ runId: run.runId, lastSeq: run.lastSeq, status: run.status, kind });
  }

  /** A payload that arrived through LISTEN; our own (already delivered) and foreign ones are skipped. */
  deliverRemote(payload: string): void {
    let p: NotifyPayload;
    try {
      p = JSON.parse(payload) as NotifyPayload;
    } catch {
      return;
    }
    if (p.origin === this.origin || typeof p.runId !== "string") return;
    this.notifier.notify({ runId: p.runId, lastSeq: p.lastSeq, status: p.status, kind: p.kind });
  }

  watchedRuns(): string[] {
    return [...this.watched.keys()];
  }

  clear(): void {
    this.notifier.clear();
    this.watched.clear();
  }
}
