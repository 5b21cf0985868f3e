/**
 * Run output streams of the local world: one file per stream, `<dataDir>/streams/<runId>/<name>.chunks`
 * (the name base64url-encoded so any namespace is a safe file name). A batch of chunks is one record framed
 * like the run logs' (`frame.ts`: `\n<crc32> <json>\n`, JSON `{"c":[chunks…]}`, with `"end":true` when the
 * batch closes the stream), written with one O_APPEND `write`. So:
 * - a batch is all or nothing: a write cut short (a full disk, a crash) leaves a torn record that every
 *   reader skips, the writer gets the error, and a later write starts on its own line and lands whole;
 * - a reader in another process never takes a record still being written (no closing newline yet), and
 *   decodes only complete records from bytes, never half of a multi-byte character;
 * - every reader numbers the chunks of the records it accepts in file order, so numbering is dense and the
 *   same for all of them.
 * Readers keep the parsed chunks and the bytes read per stream, so catching up costs one `stat` plus the
 * new bytes.
 *
 * Cross-process tailing: `subscribe` watches the run's stream directory with `fs.watch` (unref'd) while
 * someone listens, besides in-process notifications after each write.
 */
import {
  closeSync,
  constants,
  type FSWatcher,
  fsyncSync,
  mkdirSync,
  openSync,
  statSync,
  watch,
} from "node:fs";
import { join } from "node:path";
import { StreamClosedError, StreamListeners, type StreamPage, WorldError } from "@wfkit/world";
import { isPermissionError, notWritableError, readAt, writeAll } from "./file-io.js";
import { decodeFrames, encodeFrame } from "./frame.js";

interface CachedStream {
  /** Bytes decoded (up to the end of the last record whose fate is decided, see `frame.ts`). */
  offset: number;
  chunks: string[];
  closed: boolean;
}

/** One batch: its chunks, and whether it closes the stream. */
interface StreamRecord {
  c: string[];
  end?: true;
}

export class StreamFiles {
  private readonly cache = new Map<string, CachedStream>();
  private readonly listeners = new StreamListeners();
  private readonly watchers = new Map<string, { watcher: FSWatcher | undefined; users: number }>();
  /** Stream files already reported as damaged, so each is reported once. */
  private readonly reported = new Set<string>();

  constructor(
    private readonly dir: string,
    private readonly fsync: boolean,
  ) {}

  write(runId: string, name: string, chunks: readonly string[], close: boolean): { nextIndex: number } {
    const stream = this.catchUp(runId, name);
    if (stream.closed) throw new StreamClosedError(runId, name);
    for (const chunk of chunks) {
      if (typeof chunk !== "string") {
        throw new WorldError(
          "INVALID_EVENT",
          `Stream chunks must be engine-serialized strings, got ${typeof chunk}.`,
        );
      }
    }
    if (chunks.length > 0 || close) {
      const rec: StreamRecord = close ? { c: [...chunks], end: true } : { c: [...chunks] };
      this.append(runId, this.file(runId, name), encodeFrame(rec));
    }
    const after = this.catchUp(runId, name);
    this.listeners.notify(runId, name);
    return { nextIndex: after.chunks.length };
  }

  read(runId: string, name: string, startIndex = 0, limit?: number): StreamPage {
    const stream = this.catchUp(runId, name);
    const from = Math.max(0, startIndex);
    const to = limit === undefined ? stream.chunks.length : Math.min(stream.chunks.length, from + limit);
    const chunks = [];
    for (let index = from; index < to; index++) chunks.push({ index, data: stream.chunks[index]! });
    return { chunks, closed: stream.closed };
  }

  subscribe(runId: string, name: string, listener: () => void): () => void {
    const off = this.listeners.subscribe(runId, name, listener);
    const runDir = join(this.dir, runId);
    let entry = this.watchers.get(runId);
    if (!entry) {
      entry = { watcher: undefined, users: 0 };
      try {
        mkdirSync(runDir, { recursive: true });
        const watcher = watch(runDir, (_event, file) => {
          if (!file || !String(file).endsWith(SUFFIX)) return;
          const changed = Buffer.from(String(file).slice(0, -SUFFIX.length), "base64url").toString();
          this.listeners.notify(runId, changed);
        });
        watcher.on("error", () => watcher.close());
        watcher.unref();
        entry.watcher = watcher;
      } catch {
        // No watch available: in-process writes still notify; readers of other processes' streams poll.
      }
      this.watchers.set(runId, entry);
    }
    entry.users++;
    const held = entry;
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      off();
      if (--held.users === 0) {
        held.watcher?.close();
        if (this.watchers.get(runId) === held) this.watchers.delete(runId);
      }
    };
  }

  close(): void {
    for (const { watcher } of this.watchers.values()) watcher?.close();
    this.watchers.clear();
    this.listeners.clear();
  }

  private file(runId: string, name: string): string {
    if (name.length === 0) throw new WorldError("INVALID_QUERY", "A stream name must not be empty.");
    return join(this.dir, runId, `${Buffer.from(name).toString("base64url")}${SUFFIX}`);
  }

  private append(runId: string, file: string, buf: Buffer): void {
    let fd: number;
    try {
      mkdirSync(join(this.dir, runId), { recursive: true });
      fd = openSync(file, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o644);
    } catch (e) {
      throw isPermissionError(e) ? notWritableError(file, e) : e;
    }
    try {
      writeAll(fd, buf);
      if (this.fsync) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  /** Reads what other writers (this process or another) appended since the last look. */
  private catchUp(runId: string, name: string): CachedStream {
    const file = this.file(runId, name);
    let stream = this.cache.get(file);
    if (!stream) {
      stream = { offset: 0, chunks: [], closed: false };
      this.cache.set(file, stream);
    }
    const size = statSync(file, { throwIfNoEntry: false })?.size ?? 0;
    if (size <= stream.offset) return stream;
    const fd = openSync(file, "r");
    let decoded: ReturnType<typeof decodeFrames>;
    try {
      decoded = decodeFrames(readAt(fd, size - stream.offset, stream.offset));
    } finally {
      closeSync(fd);
    }
    let skipped = decoded.damaged.length + decoded.torn;
    for (const value of decoded.values) {
      const rec = asStreamRecord(value);
      if (!rec) skipped++;
      else if (!stream.closed) {
        for (const chunk of rec.c) stream.chunks.push(chunk);
        if (rec.end) stream.closed = true;
      }
    }
    stream.offset += decoded.consumed;
    if (skipped > 0 && !this.reported.has(file)) {
      // A torn record is a write whose caller got the error; a damaged one lost chunks. Either way an
      // operator reading the stream should know why chunks are missing.
      this.reported.add(file);
      console.error(
        `[wfkit/world-local] stream "${name}" of run ${runId} (${file}) holds ${skipped} record(s) torn by ` +
          "a failed write or damaged; they were skipped, and the chunks after them are numbered as if they " +
          "did not exist.",
      );
    }
    return stream;
  }
}

function asStreamRecord(value: unknown): StreamRecord | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const { c, end } = value as Record<string, unknown>;
  if (!Array.isArray(c) || !c.every((chunk) => typeof chunk === "string")) return undefined;
  if (end !== undefined && end !== true) return undefined;
  return value as StreamRecord;
}

const SUFFIX = ".chunks";
