/**
 * Waiting for SQLite's write lock without blocking the event loop.
 *
 * better-sqlite3 is synchronous: with a `busy_timeout`, a statement that finds another process holding the write
 * lock sleeps inside SQLite, and the whole Node process (its timers, sockets, step bodies) sleeps with it. So the
 * world opens its connection with a short busy timeout (default 0) and retries here instead: the failed attempt
 * has changed nothing (a transaction that cannot start rolls back), and the retry waits on a timer, so the process
 * keeps serving everything else. The first retry comes on the next turn of the event loop (transactions are short:
 * the lock is usually free again by then); later ones back off to at most `MAX_DELAY_MS`, with jitter so that
 * processes that collided do not collide again in step.
 */
import { setImmediate as nextTurn, setTimeout as sleep } from "node:timers/promises";
import { WorldError } from "@wfkit/world";

const MAX_DELAY_MS = 25;

/** SQLITE_BUSY and its extended codes (SQLITE_BUSY_RECOVERY, SQLITE_BUSY_SNAPSHOT, SQLITE_BUSY_TIMEOUT). */
export function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && (code.startsWith("SQLITE_BUSY") || code === "SQLITE_LOCKED");
}

export interface BusyRetry {
  /** How long to keep retrying before giving up with `DATABASE_BUSY`. */
  maxWaitMs: number;
  /** Counts attempts that found the database busy (for tests and diagnostics). */
  stats: { busy: number };
}

/**
 * Runs `attempt` (one synchronous statement or transaction) until it does not fail with SQLITE_BUSY. The first
 * call is made synchronously, so an uncontended write costs no extra turn of the event loop.
 */
export async function retryBusy<T>(attempt: () => T, retry: BusyRetry, what: string): Promise<T> {
  try {
    return attempt();
  } catch (error) {
    if (!isBusy(error)) throw error;
    retry.stats.busy++;
  }
  const deadline = Date.now() + retry.maxWaitMs;
  for (let round = 0; ; round++) {
    if (round === 0) await nextTurn();
    else await sleep(Math.min(MAX_DELAY_MS, 2 ** (round - 1)) * (0.5 + Math.random()));
    try {
      return attempt();
    } catch (error) {
      if (!isBusy(error)) throw error;
      retry.stats.busy++;
      if (Date.now() >= deadline) {
        throw new WorldError(
          "DATABASE_BUSY",
          `${what}: the SQLite database stayed locked by another connection for more than ${retry.maxWaitMs} ms. ` +
            "A process may be holding a long write transaction (or an external tool such as the sqlite3 shell has " +
            "the file open in a transaction); close it, or raise busyWaitMs / WORKFLOW_SQLITE_BUSY_WAIT_MS.",
        );
      }
    }
  }
}
