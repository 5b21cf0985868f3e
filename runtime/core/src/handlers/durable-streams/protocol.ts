/**
 * The read side of the Durable Streams HTTP protocol over any `StreamSource`: catch-up reads from an offset,
 * long-poll and server-sent events for live tailing, HEAD, ETags and the protocol's headers and status codes.
 *
 * Written here rather than taken from `@durable-streams/server` because that package is a server with its own
 * storage (files, LMDB): our streams are views of a world (a run's event log, its output chunks, the runs
 * table) that any worker can serve from offset 0 after a restart, and only the HTTP framing is shared. The
 * writable part of the protocol (PUT, POST, DELETE, producers, forks) lives in `writable-streams.ts`.
 */

/** Header and parameter names of the protocol (as `@durable-streams/client` spells them). */
export const H = {
  nextOffset: "Stream-Next-Offset",
  cursor: "Stream-Cursor",
  upToDate: "Stream-Up-To-Date",
  closed: "Stream-Closed",
  ttl: "Stream-TTL",
  expiresAt: "Stream-Expires-At",
  seq: "Stream-Seq",
  sseEncoding: "Stream-SSE-Data-Encoding",
} as const;

/** A message batch the source produced, ending at `offset` (the offset a reader resumes from after it). */
export interface StreamBatch {
  offset: string;
  /** Each a JSON text (JSON streams) ... */
  items?: string[];
  /** ... or raw bytes (other content types). */
  bytes?: Uint8Array;
}

export interface StreamRead {
  batches: StreamBatch[];
  /** Where a reader continues: the last batch's offset, or the offset read from when nothing followed. */
  nextOffset: string;
  /** Nothing more is stored after `nextOffset` right now. */
  upToDate: boolean;
  /** No batch will ever follow `nextOffset` (the writer closed the stream, or the run ended). */
  closed: boolean;
}

export interface StreamSource {
  contentType: string;
  /** The stream's first offset (what `-1` means). */
  readonly startOffset: string;
  /** Batches after `offset`. */
  read(offset: string): Promise<StreamRead>;
  /** The current tail, for HEAD and `offset=now`. */
  tail(): Promise<{ offset: string; closed: boolean }>;
  /** Resolves when something may have been written after `offset`, at `timeoutMs` at the latest, or on abort. */
  wait(offset: string, timeoutMs: number, signal: AbortSignal): Promise<void>;
  /** Extra headers for HEAD (a writable stream's TTL). */
  headHeaders?(): Record<string, string>;
}

export interface ProtocolOptions {
  /** How long a long-poll (or an idle SSE turn) waits for data before answering 204 (default 20 s). */
  longPollTimeoutMs?: number;
  /** How long one SSE response stays open before the server ends it and the client reconnects (default 60 s). */
  sseMaxMs?: number;
}

const OFFSET_FORMAT = /^(-1|now|\d+_\d+)$/;

/** Offsets are `<16 digits>_<16 digits>`: opaque to clients, ordered as strings. */
export function formatOffset(major: number, minor: number): string {
  return `${String(major).padStart(16, "0")}_${String(minor).padStart(16, "0")}`;
}

export function parseOffset(offset: string): [number, number] | undefined {
  const match = /^(\d+)_(\d+)$/.exec(offset);
  if (!match) return undefined;
  const major = Number(match[1]);
  const minor = Number(match[2]);
  if (!Number.isSafeInteger(major) || !Number.isSafeInteger(minor)) return undefined;
  return [major, minor];
}

export const CORS_HEADERS: Record<string, string> = {
  "access-control-allow-origin": "*",
  "access-control-allow-methods": "GET, POST, PUT, DELETE, HEAD, OPTIONS",
  "access-control-allow-headers":
    "content-type, authorization, if-none-match, Stream-Seq, Stream-TTL, Stream-Expires-At, Stream-Closed, Stream-Forked-From, Stream-Fork-Offset, Stream-Fork-Sub-Offset, Producer-Id, Producer-Epoch, Producer-Seq",
  "access-control-expose-headers":
    "Stream-Next-Offset, Stream-Cursor, Stream-Up-To-Date, Stream-Closed, Producer-Epoch, Producer-Seq, Producer-Expected-Seq, Producer-Received-Seq, etag, content-type, content-encoding, vary",
  "x-content-type-options": "nosniff",
  "cross-origin-resource-policy": "cross-origin",
};

export function textResponse(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(status === 204 || status === 304 ? null : body, {
    status,
    headers: { ...CORS_HEADERS, "content-type": "text/plain; charset=utf-8", ...headers },
  });
}

/**
 * Long-poll cursors (`Stream-Cursor`): 20-second intervals since 2024-10-09, always ahead of the client's, so
 * a CDN caching by URL can never hand a client the same empty answer twice (the protocol's cache-busting).
 */
const CURSOR_EPOCH = Date.UTC(2024, 9, 9);
const CURSOR_INTERVAL_MS = 20_000;
export function responseCursor(clientCursor: string | null): string {
  const current = Math.floor((Date.now() - CURSOR_EPOCH) / CURSOR_INTERVAL_MS);
  const client = clientCursor === null ? Number.NaN : Number.parseInt(clientCursor, 10);
  if (Number.isNaN(client) || client < current) return String(current);
  return String(client + 1 + Math.floor(Math.random() * 9));
}

function isJson(contentType: string): boolean {
  return contentType.toLowerCase().split(";")[0]!.trim() === "application/json";
}

function isTextCompatible(contentType: string): boolean {
  const ct = contentType.toLowerCase().split(";")[0]!.trim();
  return ct.startsWith("text/") || ct === "application/json";
}

const encoder = new TextEncoder();

function body(contentType: string, batches: readonly StreamBatch[]): Uint8Array<ArrayBuffer> {
  if (isJson(contentType)) {
    const items = batches.flatMap((b) => b.items ?? []);
    return encoder.encode(`[${items.join(",")}]`);
  }
  const parts = batches.map((b) => b.bytes ?? new Uint8Array());
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function etagOf(path: string, start: string, end: string, closed: boolean): string {
  return `"${Buffer.from(path).toString("base64url")}:${start}:${end}${closed ? ":c" : ""}"`;
}

/** Answers a GET, HEAD or OPTIONS request for `source` (other methods are the caller's business). */
export async function serveRead(
  request: Request,
  source: StreamSource,
  options: ProtocolOptions = {},
): Promise<Response> {
  const method = request.method.toUpperCase();
  if (method === "OPTIONS") return new Response(null, { status: 204, headers: CORS_HEADERS });
  const url = new URL(request.url);
  if (method === "HEAD") {
    const tail = await source.tail();
    return new Response(null, {
      status: 200,
      headers: {
        ...CORS_HEADERS,
        "content-type": source.contentType,
        [H.nextOffset]: tail.offset,
        "cache-control": "no-store",
        etag: etagOf(url.pathname, "-1", tail.offset, tail.closed),
        ...(tail.closed ? { [H.closed]: "true" } : {}),
        ...source.headHeaders?.(),
      },
    });
  }
  if (method !== "GET") return textResponse(405, "Method not allowed", { allow: "GET, HEAD, OPTIONS" });

  const offsets = url.searchParams.getAll("offset");
  if (offsets.length > 1) return textResponse(400, "Multiple offset parameters not allowed");
  const offsetParam = offsets[0];
  if (offsetParam !== undefined && !OFFSET_FORMAT.test(offsetParam)) {
    return textResponse(
      400,
      offsetParam === ""
        ? "Empty offset parameter"
        : `Invalid offset format: use -1 (the start), now, or an offset from Stream-Next-Offset`,
    );
  }
  const live = url.searchParams.get("live");
  if (live !== null && live !== "long-poll" && live !== "sse") {
    return textResponse(400, `Invalid live mode "${live}": use long-poll or sse`);
  }
  if (live && offsetParam === undefined) {
    return textResponse(400, `${live === "sse" ? "SSE" : "Long-poll"} requires offset parameter`);
  }
  const clientCursor = url.searchParams.get("cursor");

  let offset: string;
  if (offsetParam === undefined || offsetParam === "-1") offset = source.startOffset;
  else if (offsetParam === "now") offset = (await source.tail()).offset;
  else offset = offsetParam;

  if (live === "sse") return serveSse(request, source, offset, clientCursor, options);

  if (offsetParam === "now" && live !== "long-poll") {
    const tail = await source.tail();
    return new Response(isJson(source.contentType) ? "[]" : null, {
      status: 200,
      headers: {
        ...CORS_HEADERS,
        "content-type": source.contentType,
        [H.nextOffset]: tail.offset,
        [H.upToDate]: "true",
        "cache-control": "no-store",
        ...(tail.closed ? { [H.closed]: "true" } : {}),
      },
    });
  }

  let read = await source.read(offset);
  if (live === "long-poll" && read.batches.length === 0) {
    if (read.closed) {
      return textResponse(204, "", {
        [H.nextOffset]: read.nextOffset,
        [H.upToDate]: "true",
        [H.closed]: "true",
      });
    }
    const deadline = Date.now() + (options.longPollTimeoutMs ?? 20_000);
    while (read.batches.length === 0 && !read.closed && Date.now() < deadline && !request.signal.aborted) {
      await source.wait(offset, deadline - Date.now(), request.signal);
      read = await source.read(offset);
    }
    if (read.batches.length === 0) {
      return textResponse(204, "", {
        [H.nextOffset]: read.nextOffset,
        [H.upToDate]: "true",
        [H.cursor]: responseCursor(clientCursor),
        ...(read.closed ? { [H.closed]: "true" } : {}),
      });
    }
  }
  const closedHere = read.closed && read.upToDate;
  const etag = etagOf(url.pathname, offsetParam ?? "-1", read.nextOffset, closedHere);
  const headers: Record<string, string> = {
    ...CORS_HEADERS,
    "content-type": source.contentType,
    [H.nextOffset]: read.nextOffset,
    etag,
    // Tokens travel in the URL, so shared caches must not keep these answers.
    "cache-control": "private, no-cache",
  };
  if (live === "long-poll") headers[H.cursor] = responseCursor(clientCursor);
  if (read.upToDate) headers[H.upToDate] = "true";
  if (closedHere) headers[H.closed] = "true";
  if (request.headers.get("if-none-match") === etag) {
    return new Response(null, { status: 304, headers: { ...CORS_HEADERS, etag } });
  }
  return new Response(body(source.contentType, read.batches), { status: 200, headers });
}

/** Each line of an SSE payload gets its own `data:` (so a payload cannot inject events). */
function sseData(payload: string): string {
  return `${payload
    .split(/\r\n|\r|\n/)
    .map((line) => `data:${line}`)
    .join("\n")}\n\n`;
}

function serveSse(
  request: Request,
  source: StreamSource,
  startOffset: string,
  clientCursor: string | null,
  options: ProtocolOptions,
): Response {
  const json = isJson(source.contentType);
  const base64 = !isTextCompatible(source.contentType);
  const stop = new AbortController();
  request.signal.addEventListener("abort", () => stop.abort(), { once: true });
  const endAt = Date.now() + (options.sseMaxMs ?? 60_000);
  const idleMs = options.longPollTimeoutMs ?? 20_000;
  const decoder = new TextDecoder();
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      const send = (text: string) => controller.enqueue(encoder.encode(text));
      let offset = startOffset;
      try {
        while (!stop.signal.aborted) {
          const read = await source.read(offset);
          for (const [i, batch] of read.batches.entries()) {
            let payload: string;
            if (json) payload = `[${(batch.items ?? []).join(",")}]`;
            else if (base64) payload = Buffer.from(batch.bytes ?? new Uint8Array()).toString("base64");
            else payload = decoder.decode(batch.bytes ?? new Uint8Array());
            send(`event: data\n${sseData(payload)}`);
            // Every data event is followed by a control event naming the offset after it (the last one below).
            if (i < read.batches.length - 1) {
              const control = { streamNextOffset: batch.offset, streamCursor: responseCursor(clientCursor) };
              send(`event: control\n${sseData(JSON.stringify(control))}`);
            }
          }
          offset = read.nextOffset;
          if (read.closed && read.upToDate) {
            send(
              `event: control\n${sseData(JSON.stringify({ streamNextOffset: offset, streamClosed: true }))}`,
            );
            break;
          }
          send(
            `event: control\n${sseData(
              JSON.stringify({
                streamNextOffset: offset,
                streamCursor: responseCursor(clientCursor),
                ...(read.upToDate ? { upToDate: true } : {}),
              }),
            )}`,
          );
          if (!read.upToDate) continue;
          if (Date.now() >= endAt) break;
          await source.wait(offset, Math.min(idleMs, endAt - Date.now()), stop.signal);
        }
      } catch (error) {
        if (!stop.signal.aborted) controller.error(error);
        return;
      }
      try {
        controller.close();
      } catch {
        // The client went away first.
      }
    },
    cancel() {
      stop.abort();
    },
  });
  return new Response(body, {
    status: 200,
    headers: {
      ...CORS_HEADERS,
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      ...(base64 ? { [H.sseEncoding]: "base64" } : {}),
    },
  });
}

/** Resolves after `ms`, or at once when `signal` aborts; `wake` lets a listener end the wait early. */
export function waitFor(ms: number, signal: AbortSignal, subscribe: (wake: () => void) => () => void) {
  return new Promise<void>((resolve) => {
    if (signal.aborted || ms <= 0) return resolve();
    let off: (() => void) | undefined;
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      off?.();
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    off = subscribe(done);
  });
}
