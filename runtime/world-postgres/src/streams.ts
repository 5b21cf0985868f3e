/**
 * Run output streams on Postgres (`writeStream`, `readStream`, `subscribeStream` of the World contract).
 *
 * - A write is one call to `write_stream` (migration 2): in one transaction it locks or creates the stream
 *   row, refuses a closed stream, numbers the chunks after the ones stored and `pg_notify`s. Concurrent
 *   writers to one stream queue on that row lock, so indexes are dense and a reader never sees a gap
 *   (a later writer cannot commit before the one it waited for).
 * - A read is one statement: the run's existence, the chunks and the closed flag from one snapshot, so
 *   `closed: true` always comes with every chunk.
 * - Live tailing: the notification travels on the world's existing channel, prefixed so that the run
 *   notifications never mistake it for one of theirs; this instance's own writes reach its subscribers right
 *   after commit and their echo is skipped by origin, as for appends. After the LISTEN connection comes back,
 *   every subscriber is called once, because writes during the gap sent notifications nobody heard.
 */
import { randomBytes } from "node:crypto";
import {
  RunNotFoundError,
  StreamClosedError,
  StreamListeners,
  type StreamPage,
  WorldError,
} from "@wfkit/world";
import type pg from "pg";
import { checkKey } from "./keys.js";
import { isConnectionError } from "./pg-errors.js";

/** Marks a stream notification on the shared channel (run notifications are bare JSON objects). */
const PREFIX = "stream:";
/** NOTIFY payloads must stay under 8000 bytes; a longer stream name is left out (see `payload`). */
const MAX_PAYLOAD_BYTES = 7_900;

export interface PgStreamsOptions {
  pool: pg.Pool;
  /** The quoted schema. */
  s: string;
  /** The world instance's origin ID (shared with its run notifications). */
  origin: string;
  /** How many times a call is resent on another connection after a broken one. */
  retries: number;
  /** An idempotent query, retried on another connection when the one it got was dead. */
  read<T extends pg.QueryResultRow>(q: pg.QueryConfig): Promise<pg.QueryResult<T>>;
  isClosed(): boolean;
}

type WriteOutcome = { code: "ok" | "not_found" | "closed"; next_idx: number | null };

export class PgStreams {
  private readonly listeners = new StreamListeners();
  /** Subscribed streams and how many subscriptions each has (called back after a LISTEN gap). */
  private readonly watched = new Map<string, { runId: string; name: string; count: number }>();

  constructor(private readonly o: PgStreamsOptions) {}

  async write(
    runId: string,
    name: string,
    chunks: readonly string[],
    close: boolean,
  ): Promise<{ nextIndex: number }> {
    checkKey("INVALID_STREAM_NAME", "Stream name", name, `(run ${runId})`);
    for (const chunk of chunks) {
      if (typeof chunk !== "string") {
        throw new WorldError(
          "INVALID_EVENT",
          `Stream chunks must be engine-serialized strings, got ${typeof chunk}.`,
        );
      }
    }
    const writeId = randomBytes(9).toString("base64url");
    const outcome = await this.send(runId, name, [...chunks], close, writeId);
    switch (outcome?.code) {
      case "ok":
        break;
      case "not_found":
        throw new RunNotFoundError(runId);
      case "closed":
        throw new StreamClosedError(runId, name);
      default:
        throw new WorldError(
          "UNEXPECTED",
          `write_stream answered "${String(outcome?.code)}" for stream "${name}" of run ${runId}.`,
        );
    }
    if (chunks.length > 0 || close) this.listeners.notify(runId, name);
    return { nextIndex: Number(outcome.next_idx) };
  }

  /**
   * Sends the write. When the connection breaks meanwhile it is unknown whether the write committed, so it
   * is resent marked as such: `write_stream` then first looks for chunks stored under the same write ID
   * (or, for a bare close, a closed stream) and answers from them instead of writing twice.
   */
  private async send(
    runId: string,
    name: string,
    chunks: string[],
    close: boolean,
    writeId: string,
  ): Promise<WriteOutcome | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await this.o.pool.query<WriteOutcome>({
          name: "write_stream",
          text: `SELECT code, next_idx FROM ${this.o.s}.write_stream($1, $2, $3, $4, $5, $6, $7)`,
          values: [runId, name, chunks, close, writeId, attempt > 1, this.payload(runId, name)],
        });
        return res.rows[0];
      } catch (error) {
        if (!isConnectionError(error) || this.o.isClosed()) throw error;
        if (attempt > this.o.retries) {
          throw new WorldError(
            "CONNECTION_LOST",
            `The connection to Postgres broke while writing to stream "${name}" of run ${runId}; the chunks ` +
              "may or may not have been stored. Read the stream (readStream) before writing them again.",
          );
        }
      }
    }
  }

  async read(
    runId: string,
    name: string,
    opts: { startIndex?: number; limit?: number } = {},
  ): Promise<StreamPage> {
    const start = Math.max(0, Math.floor(opts.startIndex ?? 0));
    const limit = opts.limit === undefined ? null : Math.max(0, Math.floor(opts.limit));
    const s = this.o.s;
    const res = await this.o.read<{ closed: boolean | null; idx: number | null; data: string | null }>({
      name: "read_stream",
      text: `SELECT st.closed, c.idx, c.data
        FROM ${s}.runs r
        LEFT JOIN ${s}.streams st ON st.run_id = r.run_id AND st.name = $2
        LEFT JOIN LATERAL (
          SELECT x.idx, x.data FROM ${s}.stream_chunks x
          WHERE x.run_id = r.run_id AND x.name = $2 AND x.idx >= $3 ORDER BY x.idx LIMIT $4
        ) c ON true
        WHERE r.run_id = $1 ORDER BY c.idx`,
      values: [runId, name, start, limit],
    });
    if (res.rows.length === 0) throw new RunNotFoundError(runId);
    return {
      chunks: res.rows.flatMap((r) => (r.idx === null ? [] : [{ index: Number(r.idx), data: r.data ?? "" }])),
      closed: res.rows[0]!.closed === true,
    };
  }

  subscribe(runId: string, name: string, listener: () => void): () => void {
    const off = this.listeners.subscribe(runId, name, listener);
    const key = JSON.stringify([runId, name]);
    const entry = this.watched.get(key) ?? { runId, name, count: 0 };
    entry.count++;
    this.watched.set(key, entry);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      off();
      if (--entry.count <= 0 && this.watched.get(key) === entry) this.watched.delete(key);
    };
  }

  /**
   * The NOTIFY payload of a write through this instance. A name too long for a payload is sent as null,
   * which wakes every subscriber of the run's streams: too often is allowed, missing a write is not.
   */
  payload(runId: string, name: string): string {
    const full = PREFIX + JSON.stringify([this.o.origin, runId, name]);
    return Buffer.byteLength(full) <= MAX_PAYLOAD_BYTES
      ? full
      : PREFIX + JSON.stringify([this.o.origin, runId, null]);
  }

  /**
   * A payload that arrived through LISTEN. Returns false when it is not a stream notification (the caller
   * hands it to the run notifications); our own echo was already delivered and is skipped.
   */
  deliverRemote(payload: string): boolean {
    if (!payload.startsWith(PREFIX)) return false;
    let parsed: unknown;
    try {
      parsed = JSON.parse(payload.slice(PREFIX.length));
    } catch {
      return true;
    }
    if (!Array.isArray(parsed) || parsed.length !== 3) return true;
    const [origin, runId, name] = parsed as unknown[];
    if (origin === this.o.origin || typeof runId !== "string") return true;
    if (typeof name === "string") this.listeners.notify(runId, name);
    else if (name === null) {
      for (const w of [...this.watched.values()]) if (w.runId === runId) this.listeners.notify(runId, w.name);
    }
    return true;
  }

  /** After a LISTEN gap: every subscriber re-reads, since writes during the gap went unheard. */
  resync(): void {
    for (const { runId, name } of [...this.watched.values()]) this.listeners.notify(runId, name);
  }

  clear(): void {
    this.listeners.clear();
    this.watched.clear();
  }
}
