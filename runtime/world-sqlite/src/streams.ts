/**
 * Run output streams (`writeStream`, `readStream`, `subscribeStream`): a row per stream (next index, closed) and a
 * row per chunk. A write is one write transaction (run check, closed check, chunks numbered after the stored
 * ones, change row), so concurrent writers from any process get dense indexes and a reader never sees a gap; a
 * read takes the run, the stream row and the chunks from one snapshot, so `closed: true` comes with every chunk.
 */
import {
  RunNotFoundError,
  StreamClosedError,
  StreamListeners,
  type StreamPage,
  WorldError,
} from "@wfkit/world";
import type Database from "better-sqlite3";
import type { Connection } from "./connection.js";

export const STREAM_TOPIC = "stream";

export class SqliteStreams {
  private readonly listeners = new StreamListeners();
  /** Subscribed streams and how many subscriptions each has (all called back after a gap in the change feed). */
  private readonly watched = new Map<string, { runId: string; name: string; count: number }>();
  private readonly runExists: Database.Statement;
  private readonly streamRow: Database.Statement;
  private readonly insertChunk: Database.Statement;
  private readonly upsertStream: Database.Statement;
  private readonly chunks: Database.Statement;
  private readonly chunksLimited: Database.Statement;

  constructor(private readonly c: Connection) {
    const { db } = c;
    this.runExists = db.prepare("SELECT 1 FROM runs WHERE run_id = ?").pluck();
    this.streamRow = db.prepare("SELECT next_index, closed FROM streams WHERE run_id = ? AND name = ?");
    this.insertChunk = db.prepare("INSERT INTO stream_chunks (run_id, name, idx, data) VALUES (?, ?, ?, ?)");
    this.upsertStream = db.prepare(
      `INSERT INTO streams (run_id, name, next_index, closed) VALUES (?, ?, ?, ?)
       ON CONFLICT (run_id, name) DO UPDATE SET next_index = excluded.next_index, closed = excluded.closed`,
    );
    this.chunks = db.prepare(
      "SELECT idx, data FROM stream_chunks WHERE run_id = ? AND name = ? AND idx >= ? ORDER BY idx",
    );
    this.chunksLimited = db.prepare(
      "SELECT idx, data FROM stream_chunks WHERE run_id = ? AND name = ? AND idx >= ? ORDER BY idx LIMIT ?",
    );
  }

  async write(
    runId: string,
    name: string,
    chunks: readonly string[],
    close: boolean,
  ): Promise<{ nextIndex: number }> {
    for (const chunk of chunks) {
      if (typeof chunk !== "string") {
        throw new WorldError(
          "INVALID_EVENT",
          `Stream chunks must be engine-serialized strings, got ${typeof chunk}.`,
        );
      }
    }
    const nextIndex = await this.c.write(`Writing to stream "${name}" of run ${runId}`, () => {
      if (this.runExists.get(runId) === undefined) throw new RunNotFoundError(runId);
      const row = this.streamRow.get(runId, name) as { next_index: number; closed: number } | undefined;
      if (row?.closed === 1) throw new StreamClosedError(runId, name);
      let next = row?.next_index ?? 0;
      for (const chunk of chunks) this.insertChunk.run(runId, name, next++, chunk);
      this.upsertStream.run(runId, name, next, close ? 1 : 0);
      if (chunks.length > 0 || close) {
        this.c.feed.record(STREAM_TOPIC, JSON.stringify({ runId, name }), Date.now());
      }
      return next;
    });
    if (chunks.length > 0 || close) this.listeners.notify(runId, name);
    return { nextIndex };
  }

  read(runId: string, name: string, opts: { startIndex?: number; limit?: number } = {}): Promise<StreamPage> {
    const start = Math.max(0, Math.floor(opts.startIndex ?? 0));
    const limit = opts.limit === undefined ? undefined : Math.max(0, Math.floor(opts.limit));
    return this.c.snapshot(`Reading stream "${name}" of run ${runId}`, () => {
      if (this.runExists.get(runId) === undefined) throw new RunNotFoundError(runId);
      const row = this.streamRow.get(runId, name) as { closed: number } | undefined;
      const rows = (
        limit === undefined
          ? this.chunks.all(runId, name, start)
          : this.chunksLimited.all(runId, name, start, limit)
      ) as Array<{ idx: number; data: string }>;
      return { chunks: rows.map((r) => ({ index: r.idx, data: r.data })), closed: row?.closed === 1 };
    });
  }

  subscribe(runId: string, name: string, listener: () => void): () => void {
    this.c.feed.start();
    const off = this.listeners.subscribe(runId, name, listener);
    const key = `${runId}\u0000${name}`;
    const entry = this.watched.get(key) ?? { runId, name, count: 0 };
    entry.count++;
    this.watched.set(key, entry);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      off();
      if (--entry.count <= 0) this.watched.delete(key);
    };
  }

  /** A change row of another process. */
  deliverRemote(payload: string): void {
    const { runId, name } = JSON.parse(payload) as { runId: string; name: string };
    this.listeners.notify(runId, name);
  }

  /** Changes were missed: every subscriber re-reads. */
  resync(): void {
    for (const { runId, name } of [...this.watched.values()]) this.listeners.notify(runId, name);
  }

  clear(): void {
    this.listeners.clear();
    this.watched.clear();
  }
}
