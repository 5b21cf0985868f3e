/**
 * One run's append-only log file and the rows materialised from it in this process.
 *
 * Appends are optimistic: the record goes to the end of the file with O_APPEND (one `write`, which the
 * kernel never interleaves with another writer's), then one `fstat` tells whether anything else was
 * written since this process last looked. If not (the common case), the record landed right after the
 * known head and counts; otherwise the new bytes are read back and the rules in `records.ts` decide, the
 * same way every reader decides. No lock files, so an append costs two system calls.
 */
import { closeSync, constants, fdatasyncSync, fstatSync, open, openSync } from "node:fs";
import {
  type ApplyEffects,
  applyEvents,
  canAppend,
  checkBatchShape,
  createRunState,
  DeliveryBook,
  isTerminalStatus,
  type NewEvent,
  type RunState,
  type WorkflowEvent,
  WorldError,
} from "@wfkit/world";
import { isPermissionError, notWritableError, readAt, writeAll } from "./file-io.js";
import { decodeFrames, encodeFrame } from "./frame.js";
import {
  asLogRecord,
  type DeliveryRecord,
  type EventRecord,
  isDeliveryRecord,
  isLeaseRecord,
  type LeaseState,
  type LogRecord,
  leaseAllows,
  nextLease,
  type StoredEvent,
} from "./records.js";

/** What a read or write changed, for the world's indexes and subscribers. */
export interface LogChanges {
  /** The run came into existence (its `run_created` record was read or written). */
  created: boolean;
  /** Number of events that counted. */
  appended: number;
  effects: ApplyEffects;
  /** Number of deliveries that counted. */
  delivered: number;
  /** The log was found damaged or deleted (`RunLog.fault` says how). */
  faulted: boolean;
}

export function noChanges(): LogChanges {
  return {
    created: false,
    appended: 0,
    effects: { hooksCreated: [], hooksReleased: [], finished: false },
    delivered: 0,
    faulted: false,
  };
}

export type Access = "read" | "write" | "create";

/**
 * Open file descriptors, least recently used closed first: a burst of thousands of runs must not exhaust
 * the process's descriptor limit, and reopening a file is cheap.
 *
 * Files are opened for reading and appending at once. Where the file system refuses writing (a data
 * directory of another user, a read-only mount) a read is served by a read-only descriptor, and a write
 * fails with `DATA_DIR_NOT_WRITABLE`.
 */
export class FdCache {
  private readonly fds = new Map<string, { fd: number; writable: boolean }>();
  constructor(private readonly max = 1024) {}

  get(path: string, access: Access): number {
    const cached = this.fds.get(path);
    this.fds.delete(path);
    if (cached && (cached.writable || access === "read")) {
      this.fds.set(path, cached);
      return cached.fd;
    }
    if (cached) closeSync(cached.fd);
    const opened = openFile(path, access);
    this.fds.set(path, opened);
    this.evictOverflow();
    return opened.fd;
  }

  /**
   * Opens (creating) a file on libuv's thread pool and caches the descriptor, so the next `get` finds it.
   * Creating a file is the slowest step of a new run (a journaled metadata write); done this way, the
   * creations of a burst of new runs overlap with each other and with the main thread's work.
   */
  async preopen(path: string): Promise<void> {
    if (this.fds.has(path)) return;
    // The callback form hands back a plain descriptor; a promises FileHandle would close it when collected.
    const fd = await new Promise<number>((resolve, reject) =>
      open(path, constants.O_RDWR | constants.O_APPEND | constants.O_CREAT, 0o644, (error, opened) =>
        error ? reject(isPermissionError(error) ? notWritableError(path, error) : error) : resolve(opened),
      ),
    );
    if (this.fds.has(path)) {
      closeSync(fd); // a synchronous get() won the race
      return;
    }
    this.fds.set(path, { fd, writable: true });
    this.evictOverflow();
  }

  private evictOverflow(): void {
    if (this.fds.size > this.max) {
      const [oldPath, old] = this.fds.entries().next().value as [string, { fd: number }];
      this.fds.delete(oldPath);
      closeSync(old.fd);
    }
  }

  closeAll(): void {
    for (const { fd } of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }
}

function openFile(path: string, access: Access): { fd: number; writable: boolean } {
  const flags = constants.O_RDWR | constants.O_APPEND | (access === "create" ? constants.O_CREAT : 0);
  try {
    return { fd: openSync(path, flags, 0o644), writable: true };
  } catch (e) {
    if (!isPermissionError(e)) throw e;
    if (access !== "read") throw notWritableError(path, e);
    return { fd: openSync(path, constants.O_RDONLY), writable: false };
  }
}

export interface RunLogOptions {
  fds: FdCache;
  /** fdatasync after every write (power-loss safety) instead of leaving it to the OS page cache. */
  fsync: boolean;
  /** Pending and consumed deliveries of every run (the world's; a scratch replay passes its own). */
  deliveries: DeliveryBook;
}

/**
 * Why a run is quarantined: its log can no longer be trusted or written, so no executor may drive it (that
 * could run recorded steps again). Its rows and its readable prefix stay available.
 */
export interface LogFault {
  code: "RUN_LOG_CORRUPT" | "RUN_LOG_DELETED";
  /** What is wrong, for operators (shown on the run's row). */
  reason: string;
  /** The first seq the readable prefix does not hold. */
  atSeq: number;
  /** What writes to the run are refused with. */
  error: WorldError;
}

export class RunLog {
  state: RunState | undefined;
  lease: LeaseState | undefined;
  /** Set once the log is found damaged or deleted; nothing after that point is read, nothing is written. */
  fault: LogFault | undefined;
  /** The run's events while it is unfinished; finished runs read theirs from disk when asked. */
  private events: WorkflowEvent[] | undefined = [];
  /** Bytes read and applied (always ends after a complete line). */
  private knownEnd = 0;
  /** File size when this process last looked; more than `knownEnd` when an unterminated line follows. */
  private fileSize = 0;
  /** End of the last valid line read: where the readable prefix of a damaged log ends. */
  private validEnd = 0;

  constructor(
    readonly runId: string,
    readonly path: string,
    private readonly opts: RunLogOptions,
  ) {}

  /** Reads whatever was appended since the last look (by anyone) and applies it. */
  refresh(): LogChanges {
    const changes = noChanges();
    if (this.fault) return changes;
    let fd: number;
    try {
      fd = this.opts.fds.get(this.path, "read");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT" && this.state) this.deleted(changes);
      else throw e;
      return changes;
    }
    const stat = fstatSync(fd);
    if (stat.nlink === 0 && this.state) this.deleted(changes);
    else if (stat.size !== this.fileSize) this.readTo(fd, stat.size, changes);
    return changes;
  }

  /**
   * Appends one record and says whether it counted (it may lose to a record another process wrote
   * first; the log then holds the winner and this process has applied it). A record that could not count
   * because the log is damaged or deleted leaves `fault` set.
   */
  write(rec: LogRecord, create = false): { accepted: boolean; changes: LogChanges } {
    const changes = noChanges();
    if (this.fault) return { accepted: false, changes };
    let fd: number;
    try {
      fd = this.opts.fds.get(this.path, create ? "create" : "write");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT" || !this.state) throw e;
      this.deleted(changes);
      return { accepted: false, changes };
    }
    const buf = encodeFrame(rec);
    writeAll(fd, buf);
    if (this.opts.fsync) fdatasyncSync(fd);
    const stat = fstatSync(fd);
    if (stat.nlink === 0) {
      // The record went to a file that no longer has a name: nobody, this process after a restart
      // included, would ever read it.
      this.deleted(changes);
      return { accepted: false, changes };
    }
    const { size } = stat;
    if (this.fileSize === this.knownEnd && size === this.fileSize + buf.length) {
      // Nothing else was written since we last looked, so our record sits right at the known head.
      this.knownEnd = this.validEnd = this.fileSize = size;
      return { accepted: this.apply(rec, changes, size - buf.length), changes };
    }
    const accepted = this.readTo(fd, size, changes, rec.n);
    return { accepted: accepted === true, changes };
  }

  /** Throws what writes to a quarantined log are refused with. */
  assertWritable(): void {
    if (this.fault) throw this.fault.error;
  }

  /** Events with seq > afterSeq, at most `limit`. */
  readEvents(afterSeq = 0, limit?: number): WorkflowEvent[] {
    let events = this.events;
    if (!events) {
      // A finished run dropped its events from memory; replay the file into a scratch log (whose
      // deliveries are its own: a replay must not touch the world's).
      const scratch = new RunLog(this.runId, this.path, { ...this.opts, deliveries: new DeliveryBook() });
      scratch.refresh();
      events = scratch.events ?? [];
    }
    const start = Math.max(0, afterSeq);
    return events.slice(start, limit === undefined ? undefined : start + Math.max(0, limit));
  }

  /**
   * Forgets the events kept in memory (the rows stay): for finished runs, which are rarely read again.
   * They come back from disk when asked. (The file stays open: the engine usually releases its lease
   * right after the run ends, and the descriptor cache closes idle files anyway.)
   */
  retire(): void {
    this.events = undefined;
  }

  private readTo(fd: number, size: number, changes: LogChanges, nonce?: string): boolean | undefined {
    let ours: boolean | undefined;
    const length = size - this.knownEnd;
    if (length > 0) {
      const base = this.knownEnd;
      const decoded = decodeFrames(readAt(fd, length, base));
      const damagedAt = decoded.damaged[0] ?? Number.POSITIVE_INFINITY;
      for (let i = 0; i < decoded.values.length && !this.fault; i++) {
        const start = decoded.starts[i]!;
        if (start > damagedAt) break;
        const rec = asLogRecord(decoded.values[i]);
        // A checksummed line of an unknown shape (a newer version's record kind) is skipped.
        const counted = rec !== undefined && this.apply(rec, changes, base + start);
        if (!this.fault) this.validEnd = base + decoded.ends[i]!;
        if (rec && nonce !== undefined && rec.n === nonce) ours = counted;
      }
      if (!this.fault && damagedAt !== Number.POSITIVE_INFINITY) {
        this.corrupt(changes, base + damagedAt, "a record fails its checksum");
      }
      this.knownEnd += decoded.consumed;
    }
    this.fileSize = size;
    return ours;
  }

  /** Applies one record read at byte `offset` of the file; whether it counted. */
  private apply(rec: LogRecord, changes: LogChanges, offset: number): boolean {
    if (isLeaseRecord(rec)) {
      const next = nextLease(this.lease, rec);
      if (next) this.lease = next;
      return next !== undefined;
    }
    if (isDeliveryRecord(rec)) return this.applyDelivery(rec, changes);
    return this.applyEvents(rec, changes, offset);
  }

  private applyDelivery(rec: DeliveryRecord, changes: LogChanges): boolean {
    const { state } = this;
    if (!state || isTerminalStatus(state.run.status)) return false;
    const { duplicate } = this.opts.deliveries.record({
      runId: this.runId,
      deliveryId: rec.d,
      event: rec.e,
      createdAt: rec.t,
    });
    if (!duplicate) changes.delivered++;
    return !duplicate;
  }

  private applyEvents(rec: EventRecord, changes: LogChanges, offset: number): boolean {
    const { state } = this;
    const next = state ? state.run.lastSeq + 1 : 1;
    if (rec.s > next) {
      this.corrupt(
        changes,
        offset,
        `the record at seq ${rec.s} follows seq ${next - 1}: a record is missing`,
      );
      return false;
    }
    if (rec.s !== next || (state && !canAppend(state.run.status, rec.e))) return false;
    if (!leaseAllows(this.lease, rec)) return false;
    const events = rec.e.map((e, i) => toWorkflowEvent(this.runId, rec.s + i, e));
    try {
      checkBatchShape(this.runId, events as NewEvent[], !state);
    } catch {
      return false;
    }
    let target = state;
    let rest = events;
    if (!target) {
      try {
        target = createRunState(events[0]!);
      } catch {
        return false;
      }
      this.state = target;
      changes.created = true;
      rest = events.slice(1);
    }
    const fx = applyEvents(target, rest);
    changes.appended += events.length;
    changes.effects.hooksCreated.push(...fx.hooksCreated);
    changes.effects.hooksReleased.push(...fx.hooksReleased);
    if (fx.finished) {
      changes.effects.finished = true;
      this.opts.deliveries.forget(this.runId);
    } else {
      this.opts.deliveries.consume(this.runId, events as NewEvent[]);
    }
    // Cached events are handed to every reader, so they are frozen rather than copied on each read.
    if (this.events) for (const e of events) this.events.push(freezeEvent(e));
    return true;
  }

  private corrupt(changes: LogChanges, offset: number, what: string): void {
    const lastSeq = this.state?.run.lastSeq ?? 0;
    const prefix =
      lastSeq > 0
        ? `its events up to seq ${lastSeq} can still be read, but`
        : "nothing of it can be read (its first record is damaged), and";
    const reason = `${this.path} is damaged at byte ${offset}: ${what}`;
    this.setFault(changes, {
      code: "RUN_LOG_CORRUPT",
      reason,
      atSeq: lastSeq + 1,
      error: new WorldError(
        "RUN_LOG_CORRUPT",
        `The log of run ${this.runId} (${reason}). The run is quarantined: ${prefix} it is not driven and ` +
          "appends, leases and deliveries are refused, so no recorded step runs again. To recover, restore " +
          "the file from a backup; or, to resume the run from its readable prefix (steps recorded after it " +
          `will run again), cut the file there (truncate -s ${this.validEnd} '${this.path}') and restart ` +
          "the processes using this data directory.",
      ),
    });
  }

  private deleted(changes: LogChanges): void {
    const lastSeq = this.state?.run.lastSeq ?? 0;
    const reason = `${this.path} was deleted or replaced while this process had the run open`;
    this.setFault(changes, {
      code: "RUN_LOG_DELETED",
      reason,
      atSeq: lastSeq + 1,
      error: new WorldError(
        "RUN_LOG_DELETED",
        `The log of run ${this.runId} (${reason}; was the data directory removed?). The run is ` +
          `quarantined in this process: what it holds (events up to seq ${lastSeq}) stays readable, but ` +
          "nothing more is written for the run, since nobody could read it back. Restart the process to " +
          "use what is on disk now; runs created from now on get new files.",
      ),
    });
  }

  private setFault(changes: LogChanges, fault: LogFault): void {
    this.fault = fault;
    changes.faulted = true;
    this.opts.deliveries.forget(this.runId);
  }
}

export function toStoredEvent(e: WorkflowEvent): StoredEvent {
  const s: StoredEvent = { type: e.type, createdAt: e.createdAt };
  if (e.correlationId !== undefined) s.correlationId = e.correlationId;
  if (e.data !== undefined) s.data = e.data;
  return s;
}

function freezeEvent(e: WorkflowEvent): WorkflowEvent {
  if (typeof e.data === "object" && e.data !== null) Object.freeze(e.data);
  return Object.freeze(e);
}

function toWorkflowEvent(runId: string, seq: number, e: StoredEvent): WorkflowEvent {
  const out = { type: e.type, runId, seq, createdAt: e.createdAt } as WorkflowEvent;
  if (e.correlationId !== undefined) out.correlationId = e.correlationId;
  if (e.data !== undefined) (out as { data?: unknown }).data = e.data;
  return out;
}
