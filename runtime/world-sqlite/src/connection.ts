/**
 * One world instance's connection to the database file: opening it (WAL mode, durability, schema), and the two
 * ways every query runs: `read` (one statement or a read transaction) and `write` (one `BEGIN IMMEDIATE`
 * transaction). Both retry on SQLITE_BUSY without blocking the event loop (see busy-retry.ts).
 *
 * A write transaction is one synchronous call: it takes the write lock at BEGIN IMMEDIATE, runs its statements and
 * commits before any other JavaScript runs, so the lock is never held across an `await` and other processes wait
 * for it only as long as the statements themselves take (tens of microseconds for an append).
 */
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { WorldError } from "@wfkit/world";
import Database from "better-sqlite3";
import { type BusyRetry, isBusy, retryBusy } from "./busy-retry.js";
import { type Change, ChangeFeed } from "./change-feed.js";
import { migrate } from "./migrations.js";

export interface ConnectionOptions {
  path: string;
  synchronous: "normal" | "full";
  busyTimeoutMs: number;
  busyWaitMs: number;
  pollIntervalMs: number;
  changeRetentionMs: number;
  watch: boolean;
}

/** Writes per group commit: bounds how long one transaction holds the lock that other processes wait for. */
const MAX_BATCH = 32;

interface QueuedWrite {
  what: string;
  fn: () => unknown;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

export interface ChangeHandlers {
  onChanges(changes: Change[]): void;
  onGap(): void;
}

export class Connection {
  readonly origin = randomBytes(8).toString("base64url");
  readonly retry: BusyRetry;
  readonly feed: ChangeFeed;
  private readonly tx: Database.Transaction<(fn: () => unknown) => unknown>;
  /** Write transactions committed, and the writes they carried (writes > transactions: group commits). */
  readonly writeStats = { transactions: 0, writes: 0 };
  private readonly queue: QueuedWrite[] = [];
  private flushing = false;

  private constructor(
    readonly db: Database.Database,
    readonly path: string,
    options: ConnectionOptions,
    handlers: ChangeHandlers,
  ) {
    this.retry = { maxWaitMs: options.busyWaitMs, stats: { busy: 0 } };
    this.tx = db.transaction((fn: () => unknown) => fn());
    this.feed = new ChangeFeed({
      db,
      path,
      origin: this.origin,
      pollIntervalMs: options.pollIntervalMs,
      retentionMs: options.changeRetentionMs,
      watch: options.watch,
      onChanges: (changes) => handlers.onChanges(changes),
      onGap: () => handlers.onGap(),
    });
    this.feed.openBell();
  }

  static async open(options: ConnectionOptions, handlers: ChangeHandlers): Promise<Connection> {
    const { path } = options;
    try {
      mkdirSync(dirname(path), { recursive: true });
    } catch (error) {
      throw cannotOpen(path, error);
    }
    let db: Database.Database;
    try {
      db = new Database(path, { timeout: options.busyTimeoutMs });
    } catch (error) {
      throw cannotOpen(path, error);
    }
    const retry: BusyRetry = { maxWaitMs: options.busyWaitMs, stats: { busy: 0 } };
    try {
      // Persistent in the file: only the first opener changes it (and may meet another opener doing the same).
      const mode = await retryBusy(
        () => db.pragma("journal_mode = WAL", { simple: true }),
        retry,
        "Switching the database to WAL mode",
      );
      if (String(mode).toLowerCase() !== "wal") {
        throw new WorldError(
          "SQLITE_NO_WAL",
          `The SQLite database ${path} could not be put in WAL mode (it answered "${String(mode)}"). ` +
            "The SQLite world needs WAL for concurrent processes: use a file on a local disk (not a network share).",
        );
      }
      db.pragma(`synchronous = ${options.synchronous === "full" ? "FULL" : "NORMAL"}`);
      // After a checkpoint the WAL is reused from its start but keeps its size; this truncates it when it grew large.
      db.pragma("journal_size_limit = 67108864");
      await retryBusy(() => migrate(db, path), retry, "Migrating the database schema");
      return new Connection(db, path, options, handlers);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /** Runs one synchronous read (a statement, or several in a deferred transaction for one snapshot). */
  read<T>(what: string, fn: () => T): Promise<T> {
    return retryBusy(fn, this.retry, what);
  }

  /** Reads several statements from one snapshot. */
  snapshot<T>(what: string, fn: () => T): Promise<T> {
    return retryBusy(() => this.tx.deferred(fn) as T, this.retry, what);
  }

  /**
   * Runs `fn` in a `BEGIN IMMEDIATE` transaction: all of it or nothing. `fn` may throw to refuse the write (its
   * changes roll back and the error reaches the caller). Change rows it recorded wake other processes once the
   * transaction has committed.
   *
   * Group commit: writes requested in the same turn of the event loop (e.g. the appends of many runs whose steps
   * finished together) share one transaction, each in a savepoint of its own, so that one refused write rolls back
   * alone. One commit then covers them all: one WAL write, and with `synchronous=full` one fsync, instead of one
   * each. The batch is flushed in the event loop's check phase (`setImmediate`), which costs a lone write one pass
   * through the loop (microseconds when it is idle); flushing on the microtask queue instead was measured to batch
   * almost nothing in the engine (7,001 writes in 6,033 transactions for a burst of 1,000 runs, against 5,549 in
   * 177), because the appends of different runs are issued from different callbacks.
   */
  write<T>(what: string, fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ what, fn, resolve: resolve as (value: unknown) => void, reject });
      if (!this.flushing) {
        this.flushing = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, MAX_BATCH);
        let outcomes: Outcome[];
        try {
          outcomes = await retryBusy(() => this.commit(batch), this.retry, batch[0]!.what);
        } catch (error) {
          for (const item of batch) item.reject(error);
          continue;
        }
        for (const [i, item] of batch.entries()) {
          const outcome = outcomes[i]!;
          if (outcome.ok) item.resolve(outcome.value);
          else if (isBusy(outcome.error))
            this.queue.push(item); // met a lock inside the transaction: next batch
          else item.reject(outcome.error);
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  /** One transaction for the batch; throws (nothing written) when BEGIN IMMEDIATE or COMMIT fails. */
  private commit(batch: readonly QueuedWrite[]): Outcome[] {
    try {
      const outcomes = this.tx.immediate(() => {
        if (batch.length === 1) return [{ ok: true, value: batch[0]!.fn() } as Outcome];
        return batch.map((item): Outcome => {
          const mark = this.feed.mark();
          try {
            return { ok: true, value: this.tx(item.fn) }; // nested: a savepoint
          } catch (error) {
            this.feed.rolledBackTo(mark);
            return { ok: false, error };
          }
        });
      }) as Outcome[];
      this.feed.committed();
      this.writeStats.transactions++;
      this.writeStats.writes += batch.length;
      return outcomes;
    } catch (error) {
      this.feed.rolledBack();
      // A lone write's refusal is its own outcome, not the batch's failure.
      if (batch.length === 1 && !isBusy(error)) return [{ ok: false, error }];
      throw error;
    }
  }

  close(): void {
    this.feed.close();
    this.db.close();
  }
}

function cannotOpen(path: string, error: unknown): WorldError {
  return new WorldError(
    "SQLITE_OPEN_FAILED",
    `Could not open the SQLite database ${path}: ${(error as Error)?.message ?? String(error)}. Check that its ` +
      "folder exists or can be created and is writable, or set WORKFLOW_SQLITE_PATH to another file.",
  );
}
