/**
 * One run's append-only log file and the rows materialised from it in this process.
 *
 * Appends are optimistic: the record goes to the end of the file with O_APPEND (one `write`, which the
 * kernel never interleaves with another writer's), then one `fstat` tells whether anything else was
 * written since this process last looked. If not (the common case), the record landed right after the
 * known head and counts; otherwise the new bytes are read back and the rules in `records.ts` decide, the
 * same way every reader decides. No lock files, so an append costs two system calls.
 */
import { closeSync, constants, fdatasyncSync, fstatSync, open, openSync, readSync, writeSync } from "node:fs";
import {
  type ApplyEffects,
  applyEvents,
  checkBatchShape,
  createRunState,
  isTerminalStatus,
  type NewEvent,
  type RunState,
  type WorkflowEvent,
} from "@wfkit/world";
import { decodeFrames, encodeFrame } from "./frame.js";
import {
  asLogRecord,
  type EventRecord,
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
}

export function noChanges(): LogChanges {
  return { created: false, appended: 0, effects: { hooksCreated: [], hooksReleased: [], finished: false } };
}

/**
 * Open file descriptors, least recently used closed first: a burst of thousands of runs must not exhaust
 * the process's descriptor limit, and reopening a file is cheap.
 */
export class FdCache {
  private readonly fds = new Map<string, number>();
  constructor(private readonly max = 1024) {}

  get(path: string, create: boolean): number {
    const fd = this.fds.get(path);
    if (fd !== undefined) {
      this.fds.delete(path);
      this.fds.set(path, fd);
      return fd;
    }
    const flags = constants.O_RDWR | constants.O_APPEND | (create ? constants.O_CREAT : 0);
    const opened = openSync(path, flags, 0o644);
    this.fds.set(path, opened);
    this.evictOverflow();
    return opened;
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
        error ? reject(error) : resolve(opened),
      ),
    );
    if (this.fds.has(path)) {
      closeSync(fd); // a synchronous get() won the race
      return;
    }
    this.fds.set(path, fd);
    this.evictOverflow();
  }

  private evictOverflow(): void {
    if (this.fds.size > this.max) {
      const [oldPath, oldFd] = this.fds.entries().next().value as [string, number];
      this.fds.delete(oldPath);
      closeSync(oldFd);
    }
  }

  closeAll(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }
}

export interface RunLogOptions {
  fds: FdCache;
  /** fdatasync after every write (power-loss safety) instead of leaving it to the OS page cache. */
  fsync: boolean;
}

export class RunLog {
  state: RunState | undefined;
  lease: LeaseState | undefined;
  /** The run's events while it is unfinished; finished runs read theirs from disk when asked. */
  private events: WorkflowEvent[] | undefined = [];
  /** Bytes read and applied (always ends after a complete line). */
  private knownEnd = 0;
  /** File size when this process last looked; more than `knownEnd` when an unterminated line follows. */
  private fileSize = 0;
  /** Lines skipped as torn or damaged, for diagnostics. */
  corruptLines = 0;

  constructor(
    readonly runId: string,
    readonly path: string,
    private readonly opts: RunLogOptions,
  ) {}

  /** Reads whatever was appended since the last look (by anyone) and applies it. */
  refresh(): LogChanges {
    const changes = noChanges();
    const fd = this.opts.fds.get(this.path, false);
    const size = fstatSync(fd).size;
    if (size !== this.fileSize) this.readTo(fd, size, changes);
    return changes;
  }

  /**
   * Appends one record and says whether it counted (it may lose to a record another process wrote
   * first; the log then holds the winner and this process has applied it).
   */
  write(rec: LogRecord, create = false): { accepted: boolean; changes: LogChanges } {
    const changes = noChanges();
    const fd = this.opts.fds.get(this.path, create);
    const buf = encodeFrame(rec);
    let written = 0;
    while (written < buf.length) written += writeSync(fd, buf, written, buf.length - written);
    if (this.opts.fsync) fdatasyncSync(fd);
    const size = fstatSync(fd).size;
    if (this.fileSize === this.knownEnd && size === this.fileSize + buf.length) {
      // Nothing else was written since we last looked, so our record sits right at the known head.
      this.knownEnd = this.fileSize = size;
      return { accepted: this.apply(rec, changes), changes };
    }
    const accepted = this.readTo(fd, size, changes, rec.n);
    return { accepted: accepted === true, changes };
  }

  /** Events with seq > afterSeq, at most `limit`. */
  readEvents(afterSeq = 0, limit?: number): WorkflowEvent[] {
    let events = this.events;
    if (!events) {
      // A finished run dropped its events from memory; replay the file into a scratch log.
      const scratch = new RunLog(this.runId, this.path, this.opts);
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
    const length = size - this.knownEnd;
    let ours: boolean | undefined;
    if (length > 0) {
      const buf = Buffer.allocUnsafe(length);
      let got = 0;
      while (got < length) {
        const n = readSync(fd, buf, got, length - got, this.knownEnd + got);
        if (n === 0) break;
        got += n;
      }
      const decoded = decodeFrames(got === length ? buf : buf.subarray(0, got));
      this.corruptLines += decoded.corrupt;
      for (const value of decoded.values) {
        const rec = asLogRecord(value);
        if (!rec) {
          this.corruptLines++;
          continue;
        }
        const counted = this.apply(rec, changes);
        if (nonce !== undefined && rec.n === nonce) ours = counted;
      }
      this.knownEnd += decoded.consumed;
    }
    this.fileSize = size;
    return ours;
  }

  private apply(rec: LogRecord, changes: LogChanges): boolean {
    if (isLeaseRecord(rec)) {
      const next = nextLease(this.lease, rec);
      if (next) this.lease = next;
      return next !== undefined;
    }
    return this.applyEvents(rec, changes);
  }

  private applyEvents(rec: EventRecord, changes: LogChanges): boolean {
    const { state } = this;
    if (state ? rec.s !== state.run.lastSeq + 1 || isTerminalStatus(state.run.status) : rec.s !== 1)
      return false;
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
    if (fx.finished) changes.effects.finished = true;
    // Cached events are handed to every reader, so they are frozen rather than copied on each read.
    if (this.events) for (const e of events) this.events.push(freezeEvent(e));
    return true;
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
