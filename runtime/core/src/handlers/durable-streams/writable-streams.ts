/**
 * The writable half of the Durable Streams protocol (PUT create, POST append and close, DELETE, idempotent
 * producers, `Stream-Seq`, TTL / `Stream-Expires-At`) over a world, so the same protocol code that serves run
 * streams can be checked against the whole `@durable-streams/server-conformance-tests` suite on every world.
 *
 * Streams written here are kept as output streams of one holder run (`runId`), because a world stores streams
 * per run: `m:<path>` logs each creation and deletion (a deleted path is created again as a new generation),
 * `d:<path>#<generation>` holds the data, one world chunk per append, carrying the producer and `Stream-Seq` facts
 * that append established, so validating the next append needs no second write. Closing closes the world
 * stream. Appends to one path are serialised within this process (one writer per path, as a run has one
 * executor); TTLs count from the last access this process saw.
 */
import type { World } from "@wfkit/world";
import {
  CORS_HEADERS,
  formatOffset,
  H,
  type ProtocolOptions,
  parseOffset,
  type StreamBatch,
  type StreamSource,
  serveRead,
  textResponse,
  waitFor,
} from "./protocol.js";

/** One append as stored: bytes (base64) or JSON items, and what it establishes. */
interface DataChunk {
  /** Bytes of a non-JSON stream, base64. */
  b?: string;
  /** JSON texts of a JSON stream. */
  j?: string[];
  /** The producer (id, epoch, seq) whose append this was. */
  p?: [string, number, number];
  /** The `Stream-Seq` of this append. */
  s?: string;
  /** The closing marker (no data); its producer is the one that closed. */
  x?: 1;
}

interface MetaRecord {
  t: "create" | "delete";
  ct?: string;
  ttl?: number;
  exp?: string;
  closed?: boolean;
}

interface Producer {
  epoch: number;
  lastSeq: number;
}

interface StreamState {
  gen: number;
  exists: boolean;
  contentType: string;
  ttl?: number;
  expiresAt?: string;
  /** Data chunks (not counting the closing marker). */
  count: number;
  closed: boolean;
  closedBy?: [string, number, number];
  lastSeq?: string;
  producers: Map<string, Producer>;
  /** World chunks folded so far (data stream), and meta records folded. */
  folded: number;
  metaFolded: number;
}

const JSON_TYPE = "application/json";

function mediaType(contentType: string | undefined | null): string {
  return (contentType ?? "").split(";")[0]!.trim().toLowerCase();
}

function isJson(contentType: string): boolean {
  return mediaType(contentType) === JSON_TYPE;
}

class BadRequest extends Error {}

/** A JSON append: one value, or an array whose elements are the messages (an empty array is refused). */
function jsonItems(bytes: Uint8Array, creating: boolean): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new BadRequest("Invalid JSON");
  }
  if (Array.isArray(parsed)) {
    if (parsed.length === 0 && !creating) throw new BadRequest("Empty arrays are not allowed");
    return parsed.map((item) => JSON.stringify(item));
  }
  return [JSON.stringify(parsed)];
}

export interface WritableStreamsOptions extends ProtocolOptions {
  world: World;
  /** The run whose output streams hold the written streams (it must exist). */
  runId: string;
}

/** A `(request, path) => Response` handler for every method of the protocol, streams named by `path`. */
export function createWritableStreamsHandler(options: WritableStreamsOptions) {
  const { world, runId } = options;
  if (!world.writeStream || !world.readStream) {
    throw new Error(`The "${world.name}" world has no streams (writeStream/readStream).`);
  }
  const write = world.writeStream.bind(world);
  const readStream = world.readStream.bind(world);
  const states = new Map<string, StreamState>();
  const lastAccess = new Map<string, number>();
  const locks = new Map<string, Promise<unknown>>();

  const metaName = (path: string) => `m:${path}`;
  const dataName = (path: string, gen: number) => `d:${path}#${gen}`;

  /** Runs `fn` after every earlier write to `path` in this process. */
  function locked<T>(path: string, fn: () => Promise<T>): Promise<T> {
    const before = locks.get(path) ?? Promise.resolve();
    const run = before.then(fn, fn);
    const tail = run.catch(() => {});
    locks.set(path, tail);
    void tail.then(() => {
      if (locks.get(path) === tail) locks.delete(path);
    });
    return run;
  }

  /** The stream's state, brought up to date with the world (other processes may have written). */
  async function stateOf(path: string): Promise<StreamState> {
    let state = states.get(path);
    if (!state) {
      state = {
        gen: 0,
        exists: false,
        contentType: "application/octet-stream",
        count: 0,
        closed: false,
        producers: new Map(),
        folded: 0,
        metaFolded: 0,
      };
      states.set(path, state);
    }
    const meta = await readStream(runId, metaName(path), { startIndex: state.metaFolded });
    for (const chunk of meta.chunks) {
      const record = JSON.parse(chunk.data) as MetaRecord;
      state.metaFolded = chunk.index + 1;
      if (record.t === "delete") {
        state.exists = false;
        continue;
      }
      state.gen = state.metaFolded;
      state.exists = true;
      state.contentType = record.ct ?? "application/octet-stream";
      state.ttl = record.ttl;
      state.expiresAt = record.exp;
      state.count = 0;
      state.closed = false;
      state.closedBy = undefined;
      state.lastSeq = undefined;
      state.producers = new Map();
      state.folded = 0;
    }
    if (state.exists) {
      const data = await readStream(runId, dataName(path, state.gen), { startIndex: state.folded });
      for (const chunk of data.chunks) fold(state, JSON.parse(chunk.data) as DataChunk);
      state.folded += data.chunks.length;
      if (data.closed) state.closed = true;
    }
    return state;
  }

  function fold(state: StreamState, chunk: DataChunk) {
    if (chunk.x) {
      state.closed = true;
      state.closedBy = chunk.p;
    } else {
      state.count++;
    }
    if (chunk.p) state.producers.set(chunk.p[0], { epoch: chunk.p[1], lastSeq: chunk.p[2] });
    if (chunk.s !== undefined) state.lastSeq = chunk.s;
  }

  function expired(path: string, state: StreamState): boolean {
    if (!state.exists) return false;
    const now = Date.now();
    if (state.expiresAt !== undefined) {
      const at = new Date(state.expiresAt).getTime();
      if (!Number.isFinite(at) || now >= at) return true;
    }
    if (state.ttl !== undefined && now >= (lastAccess.get(path) ?? now) + state.ttl * 1000) return true;
    return false;
  }

  /** The live stream at `path`, or undefined (never created, deleted or expired; expiry deletes it). */
  async function live(path: string): Promise<StreamState | undefined> {
    const state = await stateOf(path);
    if (!state.exists) return undefined;
    if (expired(path, state)) {
      await locked(path, async () => {
        const again = await stateOf(path);
        if (again.exists && expired(path, again)) {
          await write(runId, metaName(path), [JSON.stringify({ t: "delete" } satisfies MetaRecord)]);
          await stateOf(path);
        }
      });
      return undefined;
    }
    return state;
  }

  const touch = (path: string) => lastAccess.set(path, Date.now());

  function source(path: string, state: StreamState): StreamSource {
    const gen = state.gen;
    const read = async (offset: string) => {
      const start = parseOffset(offset)?.[1] ?? 0;
      const page = await readStream(runId, dataName(path, gen), { startIndex: start, limit: 1000 });
      const batches: StreamBatch[] = [];
      let next = start;
      let closedMarker = false;
      for (const chunk of page.chunks) {
        const data = JSON.parse(chunk.data) as DataChunk;
        if (data.x) {
          closedMarker = true;
          break;
        }
        next = chunk.index + 1;
        batches.push(
          data.j
            ? { offset: formatOffset(0, next), items: data.j }
            : { offset: formatOffset(0, next), bytes: Buffer.from(data.b ?? "", "base64") },
        );
      }
      const upToDate = closedMarker || page.chunks.length < 1000;
      return {
        batches,
        nextOffset: formatOffset(0, next),
        upToDate,
        closed: upToDate && (closedMarker || page.closed),
      };
    };
    return {
      contentType: state.contentType,
      startOffset: formatOffset(0, 0),
      read,
      async tail() {
        const s = await stateOf(path);
        return { offset: formatOffset(0, s.count), closed: s.closed };
      },
      wait: (_offset, ms, signal) =>
        waitFor(Math.min(ms, 1000), signal, (wake) => {
          const offs = [
            world.subscribeStream?.(runId, dataName(path, gen), wake),
            world.subscribeStream?.(runId, metaName(path), wake),
          ];
          return () => {
            for (const off of offs) off?.();
          };
        }),
      headHeaders() {
        const headers: Record<string, string> = {};
        if (state.ttl !== undefined) headers[H.ttl] = String(state.ttl);
        if (state.expiresAt !== undefined) headers[H.expiresAt] = state.expiresAt;
        return headers;
      },
    };
  }

  async function create(request: Request, path: string): Promise<Response> {
    const given = request.headers.get("content-type");
    const contentType = given && /^[\w-]+\/[\w-]+/.test(given.trim()) ? given : "application/octet-stream";
    const ttlHeader = request.headers.get(H.ttl);
    const expHeader = request.headers.get(H.expiresAt);
    const createClosed = request.headers.get(H.closed) === "true";
    if (ttlHeader !== null && expHeader !== null) {
      return textResponse(400, "Cannot specify both Stream-TTL and Stream-Expires-At");
    }
    let ttl: number | undefined;
    if (ttlHeader !== null) {
      if (!/^(0|[1-9]\d*)$/.test(ttlHeader)) return textResponse(400, "Invalid Stream-TTL value");
      ttl = Number(ttlHeader);
    }
    if (expHeader !== null && Number.isNaN(new Date(expHeader).getTime())) {
      return textResponse(400, "Invalid Stream-Expires-At timestamp");
    }
    if (request.headers.get("stream-forked-from") !== null) {
      return textResponse(501, "Forking streams is not supported by this server.");
    }
    const body = new Uint8Array(await request.arrayBuffer());
    return locked(path, async () => {
      const existing = await live(path);
      if (existing) {
        const same =
          (mediaType(existing.contentType) || "application/octet-stream") === mediaType(contentType) &&
          existing.ttl === ttl &&
          existing.expiresAt === (expHeader ?? undefined) &&
          existing.closed === createClosed;
        if (!same) return textResponse(409, "Stream already exists with different configuration");
        touch(path);
        return new Response(null, {
          status: 200,
          headers: {
            ...CORS_HEADERS,
            "content-type": existing.contentType,
            [H.nextOffset]: formatOffset(0, existing.count),
            ...(existing.closed ? { [H.closed]: "true" } : {}),
          },
        });
      }
      let initial: DataChunk | undefined;
      if (body.length > 0) {
        try {
          initial = isJson(contentType)
            ? { j: jsonItems(body, true) }
            : { b: Buffer.from(body).toString("base64") };
        } catch (error) {
          if (error instanceof BadRequest) return textResponse(400, error.message);
          throw error;
        }
        if (initial.j?.length === 0) initial = undefined;
      }
      const record: MetaRecord = { t: "create", ct: contentType, closed: createClosed };
      if (ttl !== undefined) record.ttl = ttl;
      if (expHeader !== null) record.exp = expHeader;
      await write(runId, metaName(path), [JSON.stringify(record)]);
      const state = await stateOf(path);
      const chunks = initial ? [JSON.stringify(initial)] : [];
      if (chunks.length > 0 || createClosed) {
        await write(runId, dataName(path, state.gen), chunks, { close: createClosed });
      }
      const after = await stateOf(path);
      touch(path);
      return new Response(null, {
        status: 201,
        headers: {
          ...CORS_HEADERS,
          "content-type": contentType,
          location: request.url,
          [H.nextOffset]: formatOffset(0, after.count),
          ...(after.closed ? { [H.closed]: "true" } : {}),
        },
      });
    });
  }

  async function append(request: Request, path: string): Promise<Response> {
    const contentType = request.headers.get("content-type");
    const seq = request.headers.get(H.seq) ?? undefined;
    const close = request.headers.get(H.closed) === "true";
    const producerId = request.headers.get("producer-id");
    const epochText = request.headers.get("producer-epoch");
    const seqText = request.headers.get("producer-seq");
    const some = producerId !== null || epochText !== null || seqText !== null;
    const all = producerId !== null && epochText !== null && seqText !== null;
    if (some && !all) {
      return textResponse(
        400,
        "All producer headers (Producer-Id, Producer-Epoch, Producer-Seq) must be provided together",
      );
    }
    let producer: [string, number, number] | undefined;
    if (all) {
      if (producerId === "") return textResponse(400, "Invalid Producer-Id: must not be empty");
      if (!/^\d+$/.test(epochText!) || !Number.isSafeInteger(Number(epochText))) {
        return textResponse(400, "Invalid Producer-Epoch: must be a non-negative integer");
      }
      if (!/^\d+$/.test(seqText!) || !Number.isSafeInteger(Number(seqText))) {
        return textResponse(400, "Invalid Producer-Seq: must be a non-negative integer");
      }
      producer = [producerId!, Number(epochText), Number(seqText)];
    }
    const body = new Uint8Array(await request.arrayBuffer());
    if (body.length === 0 && !close) return textResponse(400, "Empty body");
    if (body.length > 0 && !contentType) return textResponse(400, "Content-Type header is required");

    return locked(path, async () => {
      const state = await live(path);
      if (!state) return textResponse(404, "Stream not found");
      touch(path);
      const producerHeaders = (lastSeq: number): Record<string, string> =>
        producer ? { "producer-epoch": String(producer[1]), "producer-seq": String(lastSeq) } : {};
      const offsetNow = () => formatOffset(0, state.count);
      if (state.closed) {
        const sameCloser = producer && state.closedBy?.every((v, i) => v === producer![i]);
        if (sameCloser) {
          return new Response(null, {
            status: 204,
            headers: {
              ...CORS_HEADERS,
              [H.nextOffset]: offsetNow(),
              [H.closed]: "true",
              ...producerHeaders(producer![2]),
            },
          });
        }
        if (close && body.length === 0 && !producer) {
          // Closing a closed stream again changes nothing.
          return new Response(null, {
            status: 204,
            headers: { ...CORS_HEADERS, [H.nextOffset]: offsetNow(), [H.closed]: "true" },
          });
        }
        return textResponse(409, "Stream is closed", { [H.closed]: "true", [H.nextOffset]: offsetNow() });
      }
      if (body.length > 0 && mediaType(contentType) !== mediaType(state.contentType)) {
        return textResponse(409, "Content-type mismatch");
      }
      if (producer) {
        const [id, epoch, pseq] = producer;
        const known = state.producers.get(id);
        if (!known) {
          if (pseq !== 0) {
            return textResponse(409, "Producer sequence gap", {
              "producer-expected-seq": "0",
              "producer-received-seq": String(pseq),
            });
          }
        } else if (epoch < known.epoch) {
          return textResponse(403, "Stale producer epoch", { "producer-epoch": String(known.epoch) });
        } else if (epoch > known.epoch) {
          if (pseq !== 0) return textResponse(400, "New epoch must start with sequence 0");
        } else if (pseq <= known.lastSeq) {
          return new Response(null, {
            status: 204,
            headers: { ...CORS_HEADERS, ...producerHeaders(known.lastSeq) },
          });
        } else if (pseq !== known.lastSeq + 1) {
          return textResponse(409, "Producer sequence gap", {
            "producer-expected-seq": String(known.lastSeq + 1),
            "producer-received-seq": String(pseq),
          });
        }
      }
      if (seq !== undefined && state.lastSeq !== undefined && seq <= state.lastSeq) {
        return textResponse(409, "Sequence conflict");
      }
      const chunks: DataChunk[] = [];
      if (body.length > 0) {
        let chunk: DataChunk;
        try {
          chunk = isJson(state.contentType)
            ? { j: jsonItems(body, false) }
            : { b: Buffer.from(body).toString("base64") };
        } catch (error) {
          if (error instanceof BadRequest) return textResponse(400, error.message);
          throw error;
        }
        if (producer) chunk.p = producer;
        if (seq !== undefined) chunk.s = seq;
        chunks.push(chunk);
      }
      if (close)
        chunks.push(
          producer && body.length === 0
            ? { x: 1, p: producer }
            : { x: 1, ...(producer ? { p: producer } : {}) },
        );
      await write(
        runId,
        dataName(path, state.gen),
        chunks.map((c) => JSON.stringify(c)),
        { close },
      );
      await stateOf(path);
      const headers: Record<string, string> = {
        ...CORS_HEADERS,
        [H.nextOffset]: offsetNow(),
        ...(producer ? producerHeaders(producer[2]) : {}),
        ...(close ? { [H.closed]: "true" } : {}),
      };
      return new Response(null, { status: producer && body.length > 0 ? 200 : 204, headers });
    });
  }

  async function remove(path: string): Promise<Response> {
    return locked(path, async () => {
      const state = await live(path);
      if (!state) return textResponse(404, "Stream not found");
      await write(runId, metaName(path), [JSON.stringify({ t: "delete" } satisfies MetaRecord)]);
      await stateOf(path);
      return new Response(null, { status: 204, headers: CORS_HEADERS });
    });
  }

  return async (request: Request, path: string): Promise<Response> => {
    const method = request.method.toUpperCase();
    if (method === "OPTIONS") return new Response(null, { status: 204, headers: CORS_HEADERS });
    if (method === "PUT") return create(request, path);
    if (method === "POST") return append(request, path);
    if (method === "DELETE") return remove(path);
    if (method !== "GET" && method !== "HEAD") {
      return textResponse(405, "Method not allowed", { allow: "GET, HEAD, PUT, POST, DELETE, OPTIONS" });
    }
    const state = await live(path);
    if (!state) return textResponse(404, "Stream not found");
    if (method === "GET") touch(path);
    return serveRead(request, source(path, state), options);
  };
}
