/**
 * The writable half of the Durable Streams protocol (PUT create, POST append and close, DELETE, idempotent
 * producers, `Stream-Seq`, TTL / `Stream-Expires-At`) over a world, so the same protocol code that serves run
 * streams can be checked against the whole `@durable-streams/server-conformance-tests` suite on every world.
 *
 * Streams written here are kept as output streams of one holder run (`runId`), because a world stores streams
 * per run: `m:<path>` logs each creation and deletion (a deleted path is created again as a new generation),
 * `d:<path>#<generation>` holds the data, one world chunk per append, carrying the producer and `Stream-Seq` facts
 * that append established, so validating the next append needs no second write. Closing closes the world
 * stream. Forks (see forks.ts) read their source's stored data below the fork offset; `m:<path>` also logs each
 * fork's reference to its source, so a source deleted while forks remain is soft-deleted (410 Gone) until its
 * last fork goes. Writes to one path are serialised within this process (one writer per path, as a run has one
 * executor); TTLs count from the last access this process saw.
 */
import type { World } from "@wfkit/world";
import { type ForkOrigin, forkRequestOf, type Segment, segmentsBelow } from "./forks.js";
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
  t: "create" | "delete" | "ref" | "unref";
  ct?: string;
  ttl?: number;
  exp?: string;
  closed?: boolean;
  /** A fork's origin (create records of forks). */
  f?: ForkOrigin;
  /** The fork (`<path>#<generation>`) taking or dropping a reference (ref and unref records). */
  by?: string;
}

interface Producer {
  epoch: number;
  lastSeq: number;
}

interface StreamState {
  gen: number;
  exists: boolean;
  /** Deleted while forks still read it: 410 Gone, and its path cannot be created again until they go. */
  gone: boolean;
  /** Forks (`<path>#<generation>`) reading this generation's data. */
  refs: Set<string>;
  /** Set for a fork. */
  fork?: ForkOrigin;
  /** Global offset of the first own chunk (a fork's offset; 0 otherwise). */
  base: number;
  contentType: string;
  ttl?: number;
  expiresAt?: string;
  /** Own data chunks (not counting the closing marker); the tail offset is `base + count`. */
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
  const refId = (path: string, gen: number) => `${path}#${gen}`;
  const tailOf = (state: StreamState) => state.base + state.count;
  const writeMeta = (path: string, record: MetaRecord) =>
    write(runId, metaName(path), [JSON.stringify(record)]);

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

  /** `locked` over several paths, taken in one order so that two requests cannot wait for each other. */
  function lockedAll<T>(paths: string[], fn: () => Promise<T>): Promise<T> {
    return [...new Set(paths)]
      .sort()
      .reduceRight<() => Promise<T>>((inner, path) => () => locked(path, inner), fn)();
  }

  /** The stream's state, brought up to date with the world (other processes may have written). */
  async function stateOf(path: string): Promise<StreamState> {
    let state = states.get(path);
    if (!state) {
      state = {
        gen: 0,
        exists: false,
        gone: false,
        refs: new Set(),
        base: 0,
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
      if (record.t === "ref") {
        state.refs.add(record.by!);
        continue;
      }
      if (record.t === "unref") {
        state.refs.delete(record.by!);
        if (state.refs.size === 0) state.gone = false;
        continue;
      }
      if (record.t === "delete") {
        state.exists = false;
        state.gone = state.refs.size > 0;
        continue;
      }
      state.gen = state.metaFolded;
      state.exists = true;
      state.gone = false;
      state.refs = new Set();
      state.fork = record.f;
      state.base = record.f?.o ?? 0;
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

  /** Everything a stream reads through: what it inherited, then its own data. */
  function segmentsOf(path: string, state: StreamState): Segment[] {
    return [...(state.fork?.segs ?? []), [dataName(path, state.gen), state.base, Number.POSITIVE_INFINITY]];
  }

  /** Up to `limit` data chunks from global offset `from`, and whether the own data's closing marker followed. */
  async function readChunks(segments: readonly Segment[], from: number, limit: number) {
    const chunks: DataChunk[] = [];
    let at = from;
    let closedMarker = false;
    let ownPage: { size: number; asked: number; closed: boolean } | undefined;
    for (const [name, base, end] of segments) {
      if (at >= end || chunks.length >= limit) continue;
      const asked = Math.min(limit - chunks.length, end - at);
      const page = await readStream(runId, name, { startIndex: at - base, limit: asked });
      for (const chunk of page.chunks) {
        const data = JSON.parse(chunk.data) as DataChunk;
        if (data.x) {
          closedMarker = true;
          break;
        }
        chunks.push(data);
        at++;
      }
      if (end === Number.POSITIVE_INFINITY) {
        ownPage = { size: page.chunks.length, asked, closed: page.closed };
      } else if (page.chunks.length < asked) {
        // Readers would ask again from here forever: say what is wrong instead.
        throw new Error(`Stream data ${name} ends before offset ${end}, which a fork inherits: it was lost.`);
      }
      if (closedMarker || at < end) break;
    }
    const upToDate = closedMarker || (ownPage !== undefined && ownPage.size < ownPage.asked);
    return { chunks, next: at, upToDate, closed: upToDate && (closedMarker || ownPage?.closed === true) };
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

  /**
   * Deletes the stream at `path` (when `only` holds for it, under its lock): soft when forks still read it. A
   * fork deleted for good drops its reference to its source, which may let a soft-deleted source go too.
   */
  async function deleteStream(path: string, only: (state: StreamState) => boolean = () => true) {
    let release: [string, string] | undefined;
    const done = await locked(path, async () => {
      const state = await stateOf(path);
      if (!state.exists || !only(state)) return false;
      await writeMeta(path, { t: "delete" });
      const after = await stateOf(path);
      if (!after.gone && after.fork) release = [after.fork.from, refId(path, after.gen)];
      return true;
    });
    while (release) {
      const [source, by] = release;
      release = undefined;
      // One lock at a time (not nested in the fork's), so this cannot wait on a request that holds both.
      await locked(source, async () => {
        const state = await stateOf(source);
        if (!state.refs.has(by)) return;
        await writeMeta(source, { t: "unref", by });
        const after = await stateOf(source);
        if (!after.exists && !after.gone && after.fork) release = [after.fork.from, refId(source, after.gen)];
      });
    }
    return done;
  }

  /** The stream's state after deleting it if its time is up (call outside its lock). */
  async function current(path: string): Promise<StreamState> {
    const state = await stateOf(path);
    if (expired(path, state)) await deleteStream(path, (again) => expired(path, again));
    return stateOf(path);
  }

  const touch = (path: string) => lastAccess.set(path, Date.now());

  const goneResponse = () =>
    textResponse(410, "Stream was deleted; its forks still read its data, so its path stays taken.");

  function source(path: string, state: StreamState): StreamSource {
    const segments = segmentsOf(path, state);
    const read = async (offset: string) => {
      const start = parseOffset(offset)?.[1] ?? 0;
      const page = await readChunks(segments, start, 1000);
      const batches: StreamBatch[] = page.chunks.map((data, i) => {
        const end = formatOffset(0, start + i + 1);
        return data.j
          ? { offset: end, items: data.j }
          : { offset: end, bytes: Buffer.from(data.b ?? "", "base64") };
      });
      return {
        batches,
        nextOffset: formatOffset(0, page.next),
        upToDate: page.upToDate,
        closed: page.closed,
      };
    };
    return {
      contentType: state.contentType,
      startOffset: formatOffset(0, 0),
      read,
      async tail() {
        const s = await stateOf(path);
        return { offset: formatOffset(0, tailOf(s)), closed: s.closed };
      },
      wait: (_offset, ms, signal) =>
        waitFor(Math.min(ms, 1000), signal, (wake) => {
          const offs = [
            world.subscribeStream?.(runId, segments.at(-1)![0], wake),
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

  /** An append's data as stored, or the 400 its body earns. */
  function chunkOf(contentType: string, body: Uint8Array, creating: boolean): DataChunk | Response {
    try {
      return isJson(contentType)
        ? { j: jsonItems(body, creating) }
        : { b: Buffer.from(body).toString("base64") };
    } catch (error) {
      if (error instanceof BadRequest) return textResponse(400, error.message);
      throw error;
    }
  }

  /**
   * What a fork of `source` at `at` (plus `fork.sub` units of the append after it) starts with: its content
   * type, its origin, and its own first append when it has a sub-offset; or the answer refusing it.
   */
  async function planFork(
    fork: { source: string; offset?: string; sub: number },
    src: StreamState | undefined,
    at: number | undefined,
    givenType: string | undefined,
  ): Promise<Response | { contentType: string; origin: ForkOrigin; prefix?: DataChunk }> {
    if (!src?.exists || at === undefined) {
      return src?.gone
        ? textResponse(409, `Cannot fork ${fork.source}: it was deleted`)
        : textResponse(404, `Cannot fork ${fork.source}: no such stream`);
    }
    if (givenType !== undefined && mediaType(givenType) !== mediaType(src.contentType)) {
      return textResponse(
        409,
        `Content-Type ${mediaType(givenType)} does not match the source's ${mediaType(src.contentType)}: leave it out to inherit it`,
      );
    }
    if (at > tailOf(src)) return textResponse(400, `${fork.offset} is past the end of ${fork.source}`);
    const segments = segmentsOf(fork.source, src);
    const origin: ForkOrigin = { from: fork.source, o: at, segs: segmentsBelow(segments, at) };
    if (fork.sub === 0) return { contentType: src.contentType, origin };
    const [whole] = (await readChunks(segmentsBelow(segments, tailOf(src)), at, 1)).chunks;
    const bytes = Buffer.from(whole?.b ?? "", "base64");
    if (!whole || fork.sub > (whole.j ? whole.j.length : bytes.length)) {
      return textResponse(
        400,
        `Stream-Fork-Sub-Offset ${fork.sub} is past the end of the append after the fork offset`,
      );
    }
    origin.so = fork.sub;
    const prefix: DataChunk = whole.j
      ? { j: whole.j.slice(0, fork.sub) }
      : { b: bytes.subarray(0, fork.sub).toString("base64") };
    return { contentType: src.contentType, origin, prefix };
  }

  async function create(request: Request, path: string): Promise<Response> {
    const given = request.headers.get("content-type");
    const givenType = given && /^[\w-]+\/[\w-]+/.test(given.trim()) ? given : undefined;
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
    const fork = forkRequestOf(request, path);
    if (fork.kind === "invalid") return textResponse(400, fork.message);
    const body = new Uint8Array(await request.arrayBuffer());
    const sourcePath = fork.kind === "fork" ? fork.source : undefined;
    await current(path);
    if (sourcePath !== undefined) await current(sourcePath);

    return lockedAll(sourcePath === undefined ? [path] : [path, sourcePath], async () => {
      const existing = await stateOf(path);
      if (existing.gone) {
        return textResponse(409, "Stream was deleted but forks still read it: its path cannot be reused yet");
      }
      const src = sourcePath === undefined ? undefined : await stateOf(sourcePath);
      /** The fork offset asked for (the source's tail by default), or undefined when it cannot be known. */
      const forkOffset = (): number | undefined => {
        if (fork.kind !== "fork") return undefined;
        if (fork.offset === undefined || fork.offset === "now") return src?.exists ? tailOf(src) : undefined;
        if (fork.offset === "-1") return 0;
        const parsed = parseOffset(fork.offset)!;
        return parsed[0] === 0 ? parsed[1] : Number.POSITIVE_INFINITY;
      };

      if (existing.exists) {
        const origin = existing.fork;
        const offsetAsked = forkOffset();
        const sameFork =
          fork.kind === "fork"
            ? origin !== undefined &&
              origin.from === fork.source &&
              (offsetAsked === undefined || offsetAsked === origin.o) &&
              (origin.so ?? 0) === fork.sub
            : origin === undefined;
        // A fork inherits what its PUT leaves out, so only what the PUT names is compared.
        const inherits = fork.kind === "fork";
        const same =
          sameFork &&
          (inherits && givenType === undefined
            ? true
            : (mediaType(existing.contentType) || "application/octet-stream") ===
              mediaType(givenType ?? "application/octet-stream")) &&
          (inherits && ttl === undefined && expHeader === null
            ? true
            : existing.ttl === ttl && existing.expiresAt === (expHeader ?? undefined)) &&
          existing.closed === createClosed;
        if (!same) return textResponse(409, "Stream already exists with different configuration");
        touch(path);
        return new Response(null, {
          status: 200,
          headers: {
            ...CORS_HEADERS,
            "content-type": existing.contentType,
            [H.nextOffset]: formatOffset(0, tailOf(existing)),
            ...(existing.closed ? { [H.closed]: "true" } : {}),
          },
        });
      }

      let contentType = givenType ?? "application/octet-stream";
      const record: MetaRecord = { t: "create", closed: createClosed };
      const chunks: DataChunk[] = [];
      if (fork.kind === "fork") {
        const planned = await planFork(fork, src, forkOffset(), givenType);
        if (planned instanceof Response) return planned;
        contentType = planned.contentType;
        record.f = planned.origin;
        if (planned.prefix) chunks.push(planned.prefix);
        if (ttl === undefined && expHeader === null) {
          // Without its own, a fork takes its source's TTL (its own sliding window) or expiry time.
          if (src!.ttl !== undefined) record.ttl = src!.ttl;
          if (src!.expiresAt !== undefined) record.exp = src!.expiresAt;
        }
      }
      record.ct = contentType;
      if (ttl !== undefined) record.ttl = ttl;
      if (expHeader !== null) record.exp = expHeader;
      if (body.length > 0) {
        const initial = chunkOf(contentType, body, true);
        if (initial instanceof Response) return initial;
        if (initial.j?.length !== 0) chunks.push(initial);
      }

      // The fork's record before the reference: a crash between them leaves a source that may be deleted
      // outright, which its fork survives (data is never removed), rather than one pinned forever.
      await writeMeta(path, record);
      const state = await stateOf(path);
      if (fork.kind === "fork") await writeMeta(fork.source, { t: "ref", by: refId(path, state.gen) });
      if (chunks.length > 0 || createClosed) {
        await write(
          runId,
          dataName(path, state.gen),
          chunks.map((c) => JSON.stringify(c)),
          { close: createClosed },
        );
      }
      const after = await stateOf(path);
      touch(path);
      return new Response(null, {
        status: 201,
        headers: {
          ...CORS_HEADERS,
          "content-type": contentType,
          location: request.url,
          [H.nextOffset]: formatOffset(0, tailOf(after)),
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

    await current(path);
    return locked(path, async () => {
      const state = await stateOf(path);
      if (state.gone) return goneResponse();
      if (!state.exists) return textResponse(404, "Stream not found");
      touch(path);
      const producerHeaders = (lastSeq: number): Record<string, string> =>
        producer ? { "producer-epoch": String(producer[1]), "producer-seq": String(lastSeq) } : {};
      const offsetNow = () => formatOffset(0, tailOf(state));
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
        const chunk = chunkOf(state.contentType, body, false);
        if (chunk instanceof Response) return chunk;
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
    const state = await current(path);
    if (state.gone) return goneResponse();
    if (!(await deleteStream(path))) {
      return (await stateOf(path)).gone ? goneResponse() : textResponse(404, "Stream not found");
    }
    return new Response(null, { status: 204, headers: CORS_HEADERS });
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
    const state = await current(path);
    if (state.gone) return goneResponse();
    if (!state.exists) return textResponse(404, "Stream not found");
    if (method === "GET") touch(path);
    return serveRead(request, source(path, state), options);
  };
}
