/**
 * Run output streams of the local world: one file per stream, `<dataDir>/streams/<runId>/<name>.chunks`
 * (the name base64url-encoded so any namespace is a safe file name). Each line is one record: a JSON string
 * is a chunk, `null` closes the stream. A batch of chunks is one `write` with O_APPEND, so a reader in another
 * process never sees half a batch except as a line without its newline, which is ignored until completed
 * (the same torn-tail rule as the run logs). Readers keep the parsed chunks and the bytes read per stream, so
 * catching up costs one `fstat` plus the new bytes.
 *
 * Cross-process tailing: `subscribe` watches the run's stream directory with `fs.watch` (unref'd) while
 * someone listens, besides in-process notifications after each write.
 */
import {
  appendFileSync,
  closeSync,
  type FSWatcher,
  fsyncSync,
  mkdirSync,
  openSync,
  readSync,
  statSync,
  watch,
} from "node:fs";
import { join } from "node:path";
import { StreamClosedError, StreamListeners, type StreamPage, WorldError } from "@wfkit/world";

interface CachedStream {
  offset: number;
  chunks: string[];
  closed: boolean;
  /** Bytes after the last newline: a record still being written. */
  partial: string;
}

export class StreamFiles {
  private readonly cache = new Map<string, CachedStream>();
  private readonly listeners = new StreamListeners();
  private readonly watchers = new Map<string, { watcher: FSWatcher | undefined; users: number }>();

  constructor(
    private readonly dir: string,
    private readonly fsync: boolean,
  ) {}

  write(runId: string, name: string, chunks: readonly string[], close: boolean): { nextIndex: number } {
    const stream = this.catchUp(runId, name);
    if (stream.closed) throw new StreamClosedError(runId, name);
    let text = "";
    for (const chunk of chunks) {
      if (typeof chunk !== "string") {
        throw new WorldError(
          "INVALID_EVENT",
          `Stream chunks must be engine-serialized strings, got ${typeof chunk}.`,
        );
      }
      text += `${JSON.stringify(chunk)}\n`;
    }
    if (close) text += "null\n";
    if (text.length > 0) {
      const file = this.file(runId, name);
      mkdirSync(join(this.dir, runId), { recursive: true });
      if (this.fsync) {
        const fd = openSync(file, "a");
        try {
          appendFileSync(fd, text);
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
      } else appendFileSync(file, text);
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

  /** Reads what other writers (this process or another) appended since the last look. */
  private catchUp(runId: string, name: string): CachedStream {
    const file = this.file(runId, name);
    let stream = this.cache.get(file);
    if (!stream) {
      stream = { offset: 0, chunks: [], closed: false, partial: "" };
      this.cache.set(file, stream);
    }
    const size = statSync(file, { throwIfNoEntry: false })?.size ?? 0;
    if (size <= stream.offset) return stream;
    const buffer = Buffer.alloc(size - stream.offset);
    const fd = openSync(file, "r");
    try {
      let read = 0;
      while (read < buffer.length) {
        const n = readSync(fd, buffer, read, buffer.length - read, stream.offset + read);
        if (n === 0) break;
        read += n;
      }
      stream.offset += read;
      const text = stream.partial + buffer.subarray(0, read).toString("utf8");
      const lines = text.split("\n");
      stream.partial = lines.pop() ?? "";
      for (const line of lines) {
        if (line === "") continue;
        const record = JSON.parse(line) as string | null;
        if (record === null) stream.closed = true;
        else if (!stream.closed) stream.chunks.push(record);
      }
    } finally {
      closeSync(fd);
    }
    return stream;
  }
}

const SUFFIX = ".chunks";
