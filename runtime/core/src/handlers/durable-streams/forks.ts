/**
 * Forks of writable Durable Streams (`Stream-Forked-From`, `Stream-Fork-Offset`, `Stream-Fork-Sub-Offset`).
 *
 * A fork shares its source's offsets up to the fork offset and continues with its own appends after it. It
 * copies nothing: its creation record lists the stored data it inherits as segments (a world stream and the
 * global offsets it covers), so a fork reads the same bytes after a restart, after its source is deleted, and
 * whatever the source appends later. A sub-offset fork also takes the first N bytes (or JSON messages) of the
 * append after the fork offset: that part is written as the fork's own first append.
 */
import { parseOffset } from "./protocol.js";

/** Stored data a stream reads through: `[world stream name, global offset of its chunk 0, end (exclusive)]`. */
export type Segment = [name: string, base: number, end: number];

/** Where a fork came from, as its creation record keeps it. */
export interface ForkOrigin {
  /** The source's path. */
  from: string;
  /** The fork offset (chunks inherited from the source). */
  o: number;
  /** The sub-offset taken from the source's next append, when not 0. */
  so?: number;
  /** The source data the fork reads below `o`. */
  segs: Segment[];
}

export const FORK_HEADERS = {
  from: "Stream-Forked-From",
  offset: "Stream-Fork-Offset",
  subOffset: "Stream-Fork-Sub-Offset",
} as const;

/** What a PUT asks for about forking, validated; or the reason to refuse it with 400. */
export type ForkRequest =
  | { kind: "none" }
  | { kind: "fork"; source: string; offset?: string; sub: number }
  | { kind: "invalid"; message: string };

export function forkRequestOf(request: Request, path: string): ForkRequest {
  const from = request.headers.get(FORK_HEADERS.from);
  const offset = request.headers.get(FORK_HEADERS.offset);
  const sub = request.headers.get(FORK_HEADERS.subOffset);
  if (from === null) {
    if (offset !== null || sub !== null) {
      return {
        kind: "invalid",
        message: `${offset !== null ? FORK_HEADERS.offset : FORK_HEADERS.subOffset} needs ${FORK_HEADERS.from} (the path of the stream to fork)`,
      };
    }
    return { kind: "none" };
  }
  const source = sourcePathOf(from, request, path);
  if (source === undefined) {
    return {
      kind: "invalid",
      message: `Invalid ${FORK_HEADERS.from}: give the path of a stream on this server, e.g. /v1/stream/name`,
    };
  }
  if (offset !== null && offset !== "-1" && offset !== "now" && !parseOffset(offset)) {
    return {
      kind: "invalid",
      message: `Invalid ${FORK_HEADERS.offset}: use an offset the server returned (Stream-Next-Offset)`,
    };
  }
  if (sub !== null && !/^(0|[1-9]\d*)$/.test(sub)) {
    return {
      kind: "invalid",
      message: `Invalid ${FORK_HEADERS.subOffset}: use a non-negative integer without sign or leading zeros`,
    };
  }
  return { kind: "fork", source, offset: offset ?? undefined, sub: sub === null ? 0 : Number(sub) };
}

/**
 * The source's path in the handler's terms: the header names a URL path on this server (or an absolute URL of
 * it), and the handler may be mounted under a prefix its `path` argument leaves out.
 */
function sourcePathOf(header: string, request: Request, path: string): string | undefined {
  if (header.trim() === "") return undefined;
  let target: URL;
  try {
    target = new URL(header, request.url);
  } catch {
    return undefined;
  }
  const own = new URL(request.url);
  if (target.origin !== own.origin) return undefined;
  const prefix = own.pathname.endsWith(path) ? own.pathname.slice(0, own.pathname.length - path.length) : "";
  if (prefix && target.pathname.startsWith(prefix)) return target.pathname.slice(prefix.length);
  return target.pathname;
}

/** The part of `segments` below global offset `at` (what a fork at `at` inherits). */
export function segmentsBelow(segments: readonly Segment[], at: number): Segment[] {
  const out: Segment[] = [];
  for (const [name, base, end] of segments) {
    const cut = Math.min(end, at);
    if (cut > base) out.push([name, base, cut]);
  }
  return out;
}
