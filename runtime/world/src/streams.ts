/**
 * Run output streams kept in memory (the memory world's storage), plus the listener bookkeeping every world
 * needs for `subscribeStream`. A stream is a dense list of serialized chunks and a closed flag.
 */
import { WorldError } from "./errors.js";
import type { StreamInfo, StreamPage } from "./types.js";

export class StreamClosedError extends WorldError {
  constructor(
    readonly runId: string,
    readonly stream: string,
  ) {
    super(
      "STREAM_CLOSED",
      `Stream "${stream}" of run ${runId} is closed; nothing more can be written to it. Write everything before ` +
        "closing the writable, or use another namespace.",
    );
  }
}

/** Listeners per (run, stream); a throwing listener cannot break the write that triggered it. */
export class StreamListeners {
  private readonly listeners = new Map<string, Set<() => void>>();

  subscribe(runId: string, name: string, listener: () => void): () => void {
    const key = streamKey(runId, name);
    const set = this.listeners.get(key) ?? new Set<() => void>();
    this.listeners.set(key, set);
    const entry = () => listener();
    set.add(entry);
    return () => {
      set.delete(entry);
      if (set.size === 0 && this.listeners.get(key) === set) this.listeners.delete(key);
    };
  }

  notify(runId: string, name: string): void {
    for (const listener of [...(this.listeners.get(streamKey(runId, name)) ?? [])]) {
      try {
        listener();
      } catch (error) {
        console.error(
          `[wfkit/world] a subscribeStream() listener of ${runId}/${name} threw; the write stood.`,
          error,
        );
      }
    }
  }

  /** Runs with a listener on some stream (for worlds that watch files only when someone listens). */
  has(runId: string, name: string): boolean {
    return this.listeners.has(streamKey(runId, name));
  }

  clear(): void {
    this.listeners.clear();
  }
}

interface StoredStream {
  chunks: string[];
  closed: boolean;
}

export class MemoryStreams {
  private readonly streams = new Map<string, StoredStream>();
  readonly listeners = new StreamListeners();

  write(runId: string, name: string, chunks: readonly string[], close: boolean): { nextIndex: number } {
    const key = streamKey(runId, name);
    let stream = this.streams.get(key);
    if (!stream) {
      stream = { chunks: [], closed: false };
      this.streams.set(key, stream);
    }
    if (stream.closed) throw new StreamClosedError(runId, name);
    for (const chunk of chunks) {
      if (typeof chunk !== "string") {
        throw new WorldError(
          "INVALID_EVENT",
          `Stream chunks must be engine-serialized strings, got ${typeof chunk}.`,
        );
      }
    }
    stream.chunks.push(...chunks);
    if (close) stream.closed = true;
    if (chunks.length > 0 || close) this.listeners.notify(runId, name);
    return { nextIndex: stream.chunks.length };
  }

  list(runId: string): StreamInfo[] {
    const prefix = streamKey(runId, "");
    const out: StreamInfo[] = [];
    for (const [key, stream] of this.streams) {
      if (key.startsWith(prefix)) {
        out.push({ name: key.slice(prefix.length), chunks: stream.chunks.length, closed: stream.closed });
      }
    }
    return out.sort(byName);
  }

  read(runId: string, name: string, startIndex = 0, limit?: number): StreamPage {
    const stream = this.streams.get(streamKey(runId, name));
    if (!stream) return { chunks: [], closed: false };
    const from = Math.max(0, startIndex);
    const to = limit === undefined ? stream.chunks.length : Math.min(stream.chunks.length, from + limit);
    const chunks = [];
    for (let index = from; index < to; index++) chunks.push({ index, data: stream.chunks[index]! });
    return { chunks, closed: stream.closed };
  }
}

/** `listStreams` order, the same in every world (code unit order, as Postgres' "C" collation). */
export function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function streamKey(runId: string, name: string): string {
  return `${runId}\u0000${name}`;
}
