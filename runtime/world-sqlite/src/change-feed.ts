/**
 * Notifications between processes that share one SQLite file. SQLite has no LISTEN/NOTIFY, so:
 *
 * - Every write that someone may wait for (an append, a delivery, a stream write, a step task change) adds a row to
 *   the `changes` table in its own transaction: the notification commits exactly when the change does, and is
 *   never sent for a write that rolled back.
 * - After that commit the writer "rings a bell": it writes one byte to `<db>-notify` beside the database. Every
 *   world watches that file (`fs.watch`, inotify on Linux), so other processes are woken within a millisecond or
 *   two. The bell is rung after the commit, not derived from the `-wal` file's writes, because the WAL is written
 *   before the commit becomes visible: a reader woken by it could look too early and miss the change.
 * - Woken, a reader asks `PRAGMA data_version` (a read of shared memory; it changes only when another connection
 *   committed) and only then reads the rows after the last ID it saw. A poll every `pollIntervalMs` does the same,
 *   as the safety net for a missed or unsupported file event.
 * - Rows are pruned after `retentionMs` by whichever process writes, never the newest. IDs are dense (the largest
 *   plus one, one writer at a time), so a reader that was frozen past the retention notices the hole and resyncs
 *   instead of missing a change.
 *
 * The writer's own subscribers are called right after its commit by the world itself; rows of its own origin are
 * skipped here.
 */
import { closeSync, constants, type FSWatcher, openSync, watch, writeSync } from "node:fs";
import type Database from "better-sqlite3";
import { isBusy } from "./busy-retry.js";

export interface Change {
  id: number;
  topic: string;
  payload: string;
}

export interface ChangeFeedOptions {
  db: Database.Database;
  /** The database file (the bell file is `<path>-notify`). */
  path: string;
  /** This world instance's ID; its own rows are not delivered back to it. */
  origin: string;
  pollIntervalMs: number;
  retentionMs: number;
  /** Watch the bell file (default true); without it, other processes are heard at the next poll. */
  watch: boolean;
  /** Rows written by other world instances, in commit order. */
  onChanges(changes: Change[]): void;
  /** Rows were pruned before this instance read them: whatever waits must look again. */
  onGap(): void;
}

const PAGE = 500;
const BELL = Buffer.from([0x2a]);

export class ChangeFeed {
  private cursor: number;
  private dataVersion = -1;
  private started = false;
  private closed = false;
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private scheduled = false;
  private bellFd: number | undefined;
  private lastPruneAt = 0;
  /** IDs of rows recorded by the transaction in progress. */
  private recorded: number[] = [];

  private readonly insert: Database.Statement;
  private readonly after: Database.Statement;
  private readonly head: Database.Statement;
  private readonly firstFresh: Database.Statement;
  private readonly prune: Database.Statement;
  private readonly version: Database.Statement;

  constructor(private readonly o: ChangeFeedOptions) {
    const { db } = o;
    this.insert = db.prepare("INSERT INTO changes (origin, topic, payload, created_at) VALUES (?, ?, ?, ?)");
    this.after = db.prepare(
      "SELECT id, origin, topic, payload FROM changes WHERE id > ? ORDER BY id LIMIT ?",
    );
    this.head = db.prepare("SELECT max(id) FROM changes").pluck();
    this.firstFresh = db.prepare("SELECT id FROM changes WHERE created_at >= ? ORDER BY id LIMIT 1").pluck();
    this.prune = db.prepare("DELETE FROM changes WHERE id < ?");
    this.version = db.prepare("PRAGMA data_version").pluck();
    this.cursor = (this.head.get() as number | null) ?? 0;
  }

  /**
   * Adds a change row. Call inside the write transaction that makes the change, then `committed()` after the
   * commit (or `rolledBack()`). Also prunes expired rows now and then (the transaction holds the write lock anyway).
   */
  record(topic: string, payload: string, now: number): void {
    this.recorded.push(Number(this.insert.run(this.o.origin, topic, payload, now).lastInsertRowid));
    if (now - this.lastPruneAt > this.o.retentionMs / 4) {
      this.lastPruneAt = now;
      const fresh = this.firstFresh.get(now - this.o.retentionMs) as number | undefined;
      if (fresh !== undefined) this.prune.run(fresh);
    }
  }

  /** The transaction that recorded changes committed: step over our own rows and wake the other processes. */
  committed(): void {
    if (this.recorded.length === 0) return;
    // Our own rows need no reading: step over them while nothing of others' lies in between, so that the cursor
    // does not fall behind rows that pruning may remove (which would look like a gap).
    for (const id of this.recorded) if (this.cursor === id - 1) this.cursor = id;
    this.recorded = [];
    if (this.bellFd === undefined || this.closed) return;
    try {
      writeSync(this.bellFd, BELL, 0, 1, 0);
    } catch {
      // The bell is only a wake-up; readers still poll.
    }
  }

  /** The transaction rolled back: its row IDs will be given to other rows. */
  rolledBack(): void {
    this.recorded = [];
  }

  /** Where the rows recorded so far end (before a savepoint). */
  mark(): number {
    return this.recorded.length;
  }

  /** A savepoint rolled back: forget the rows recorded after `mark`. */
  rolledBackTo(mark: number): void {
    this.recorded.length = mark;
  }

  /** Opens the bell for writing (every instance rings, whether or not it listens itself). */
  openBell(): void {
    if (this.bellFd !== undefined) return;
    try {
      // Not O_APPEND: every ring rewrites the same byte, so the file stays one byte long.
      this.bellFd = openSync(`${this.o.path}-notify`, constants.O_WRONLY | constants.O_CREAT, 0o644);
    } catch {
      this.bellFd = undefined; // e.g. a read-only directory: others hear us at their next poll
    }
  }

  /** Starts listening for other processes' changes (first subscriber). Idempotent. */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.dataVersion = this.readDataVersion();
    // What happened before anyone listened is not news.
    this.cursor = (this.head.get() as number | null) ?? 0;
    if (this.o.watch && this.bellFd !== undefined) {
      try {
        this.watcher = watch(`${this.o.path}-notify`, { persistent: false }, () => this.schedule());
        this.watcher.on("error", () => {
          this.watcher?.close();
          this.watcher = undefined;
        });
      } catch {
        this.watcher = undefined; // no file events here: the poll alone carries notifications
      }
    }
    this.timer = setInterval(() => this.check(), this.o.pollIntervalMs);
    this.timer.unref();
  }

  /** Coalesces a burst of file events into one check on the next turn of the event loop. */
  private schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.check();
    });
  }

  /** Reads and delivers what other connections committed since the last check. */
  check(): void {
    if (this.closed) return;
    try {
      const version = this.readDataVersion();
      if (version === this.dataVersion) return;
      this.dataVersion = version;
      this.drain();
    } catch (error) {
      // A reader can meet SQLITE_BUSY while another connection recovers the WAL after a crash: look again soon.
      if (isBusy(error)) setTimeout(() => this.check(), 5).unref();
      else throw error;
    }
  }

  private drain(): void {
    for (;;) {
      const rows = this.after.all(this.cursor, PAGE) as Array<Change & { origin: string }>;
      if (rows.length === 0) {
        const head = (this.head.get() as number | null) ?? 0;
        if (head > this.cursor) this.gap(head);
        return;
      }
      if (rows[0]!.id !== this.cursor + 1) this.gap(rows[0]!.id - 1);
      this.cursor = rows[rows.length - 1]!.id;
      const foreign = rows.filter((r) => r.origin !== this.o.origin);
      if (foreign.length > 0)
        this.o.onChanges(foreign.map(({ id, topic, payload }) => ({ id, topic, payload })));
      if (rows.length < PAGE) return;
    }
  }

  private gap(skipTo: number): void {
    this.cursor = skipTo;
    this.o.onGap();
  }

  private readDataVersion(): number {
    return this.version.get() as number;
  }

  close(): void {
    this.closed = true;
    this.watcher?.close();
    this.watcher = undefined;
    if (this.timer) clearInterval(this.timer);
    if (this.bellFd !== undefined) closeSync(this.bellFd);
    this.bellFd = undefined;
  }
}
