/**
 * The read-only streams a world offers as Durable Streams: a run's state (change events derived from its log),
 * a run's output streams (`getWritable` chunks) and the runs list. Each maps the protocol's offsets onto
 * something the world numbers durably (event seq, chunk index, row `updatedAt`), so a reader resumes from its
 * offset on any worker and after a restart.
 */
import { type RunRecord, TERMINAL_RUN_STATUSES, type World } from "@wfkit/world";
import { toJsonValue } from "../../observability/json-value.js";
import { deserialize } from "../../serialization/index.js";
import {
  formatOffset,
  parseOffset,
  type StreamBatch,
  type StreamRead,
  type StreamSource,
  waitFor,
} from "./protocol.js";
import { RunStateDeriver, runSummary } from "./run-state.js";

/** Most batches one response carries; the reader asks again from where it stopped. */
const MAX_BATCHES = 1000;
/** Worlds notify across processes, but a notification may be lost (a dropped connection): re-read this often. */
const SAFETY_POLL_MS = 1000;

const JSON_TYPE = "application/json";

function minorOf(offset: string): number {
  return parseOffset(offset)?.[1] ?? 0;
}

/** Waits for a notification from the world about `runId` (every run when undefined), or the safety poll. */
function runChange(world: World, runId: string | undefined, ms: number, signal: AbortSignal) {
  return waitFor(Math.min(ms, SAFETY_POLL_MS), signal, (wake) => world.subscribe(() => wake(), runId));
}

// ---------------------------------------------------------------------------------------------- run state

interface Derived {
  deriver: RunStateDeriver;
  /** Non-empty batches in seq order; `offset` encodes the seq of the event that made them. */
  batches: { seq: number; items: string[] }[];
  busy: Promise<unknown>;
}

/**
 * Derivations per world and run, so a reader that polls costs one `readEvents` of the new events. Bounded; an
 * evicted run is derived again from seq 1 (same result).
 */
const derivedCache = new WeakMap<World, Map<string, Derived>>();
const MAX_CACHED_RUNS = 200;

function derivedOf(world: World, runId: string): Derived {
  let perWorld = derivedCache.get(world);
  if (!perWorld) {
    perWorld = new Map();
    derivedCache.set(world, perWorld);
  }
  let derived = perWorld.get(runId);
  if (derived) {
    perWorld.delete(runId); // re-inserted below: most recently used last
  } else {
    derived = { deriver: new RunStateDeriver(), batches: [], busy: Promise.resolve() };
  }
  perWorld.set(runId, derived);
  while (perWorld.size > MAX_CACHED_RUNS) perWorld.delete(perWorld.keys().next().value!);
  return derived;
}

async function catchUp(world: World, runId: string): Promise<Derived> {
  const derived = derivedOf(world, runId);
  const run = derived.busy.then(async () => {
    const events = await world.readEvents(runId, { afterSeq: derived.deriver.lastSeq });
    for (const e of events) {
      const items = derived.deriver.next(e);
      if (items.length > 0) derived.batches.push({ seq: e.seq, items });
    }
  });
  derived.busy = run.catch(() => {});
  await run;
  return derived;
}

/** Completed and cancelled runs never change again; a failed run may be retried, so its stream stays open. */
function stateClosed(status: RunRecord["status"] | undefined): boolean {
  return status === "completed" || status === "cancelled";
}

export function runStateSource(world: World, runId: string): StreamSource {
  const read = async (offset: string): Promise<StreamRead> => {
    const after = minorOf(offset);
    const derived = await catchUp(world, runId);
    const { batches, deriver } = derived;
    // First batch after `after` (binary search: batches are in seq order).
    let lo = 0;
    let hi = batches.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (batches[mid]!.seq <= after) lo = mid + 1;
      else hi = mid;
    }
    const slice = batches.slice(lo, lo + MAX_BATCHES);
    const upToDate = lo + MAX_BATCHES >= batches.length;
    const out: StreamBatch[] = slice.map((b) => ({ offset: formatOffset(0, b.seq), items: b.items }));
    // Events that changed nothing a client sees still move the reader on, so its next read starts after them.
    const nextSeq = upToDate ? Math.max(after, deriver.lastSeq) : slice.at(-1)!.seq;
    return {
      batches: out,
      nextOffset: formatOffset(0, nextSeq),
      upToDate,
      closed: upToDate && stateClosed(deriver.status),
    };
  };
  return {
    contentType: JSON_TYPE,
    startOffset: formatOffset(0, 0),
    read,
    async tail() {
      const { deriver } = await catchUp(world, runId);
      return { offset: formatOffset(0, deriver.lastSeq), closed: stateClosed(deriver.status) };
    },
    wait: (_offset, ms, signal) => runChange(world, runId, ms, signal),
  };
}

// --------------------------------------------------------------------------------------------- run output

/** Engine marker of a chunk that records the failure of the stream it ends (see engine/streams.ts). */
const STREAM_ERROR = "!wfkit.stream-error:";
/** After its run ended, how long an unclosed output stream may stay silent before it counts as closed. */
const END_GRACE_MS = 2000;

const utf8 = new TextDecoder();

/** One output chunk as JSON: bytes (a `TextEncoder`'s output) as their UTF-8 text, other values as in `wf inspect --json`. */
function chunkJson(data: string): string {
  let value: unknown;
  try {
    value = deserialize(data);
  } catch (error) {
    // One bad chunk must not stop the stream for every reader.
    const message = error instanceof Error ? error.message : String(error);
    return JSON.stringify({ $type: "Undecodable", message });
  }
  if (value instanceof Uint8Array) return JSON.stringify(utf8.decode(value));
  return JSON.stringify(toJsonValue(value) ?? null);
}

export function runOutputSource(world: World, runId: string, name: string): StreamSource {
  if (!world.readStream) {
    throw new Error(`The "${world.name}" world has no output streams (readStream), so none can be served.`);
  }
  const readStream = world.readStream.bind(world);
  const ended = async (): Promise<boolean> => {
    const run = await world.getRun(runId);
    if (!run || !TERMINAL_RUN_STATUSES.includes(run.status)) return false;
    return Date.now() - (run.completedAt ?? run.updatedAt) >= END_GRACE_MS;
  };
  const read = async (offset: string): Promise<StreamRead> => {
    const start = minorOf(offset);
    const page = await readStream(runId, name, { startIndex: start, limit: MAX_BATCHES });
    const batches: StreamBatch[] = [];
    let failed = false;
    for (const chunk of page.chunks) {
      // A failed producer ends the stream: readers see it closed after the chunks before the failure.
      if (chunk.data.startsWith(STREAM_ERROR)) {
        failed = true;
        break;
      }
      batches.push({ offset: formatOffset(0, chunk.index + 1), items: [chunkJson(chunk.data)] });
    }
    const next = batches.length > 0 ? minorOf(batches.at(-1)!.offset) : start;
    const upToDate = failed || page.chunks.length < MAX_BATCHES;
    const closed = upToDate && (failed || page.closed || (await ended()));
    return { batches, nextOffset: formatOffset(0, next), upToDate, closed };
  };
  return {
    contentType: JSON_TYPE,
    startOffset: formatOffset(0, 0),
    read,
    tail: () => tailByReading(read),
    wait: (_offset, ms, signal) =>
      waitFor(Math.min(ms, SAFETY_POLL_MS), signal, (wake) => {
        const offs = [world.subscribeStream?.(runId, name, wake), world.subscribe(() => wake(), runId)];
        return () => {
          for (const off of offs) off?.();
        };
      }),
  };
}

// ---------------------------------------------------------------------------------------------- runs list

/** The runs list covers the newest runs (by creation) only. */
export const RUNS_LIST_LIMIT = 1000;

function runListView(run: RunRecord) {
  return { ...runSummary(run), updatedAt: run.updatedAt };
}

/**
 * The runs list as `upsert` change messages of type `run`, ordered by (updatedAt, runId). The offset
 * `<updatedAt>_<k>` says: every run updated before `updatedAt`, and the first `k` (by runId) updated at it, have
 * been sent in their current form. A run that changes moves to a later updatedAt and is sent again, so a reader
 * materialises the current rows; this is a view of the runs table, not a history.
 */
export function runsListSource(world: World): StreamSource {
  const rows = async (): Promise<RunRecord[]> => {
    const out: RunRecord[] = [];
    let cursor: string | undefined;
    while (out.length < RUNS_LIST_LIMIT) {
      const page = await world.listRuns({ limit: Math.min(1000, RUNS_LIST_LIMIT - out.length), cursor });
      out.push(...page.items);
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    return out.sort(
      (a, b) => a.updatedAt - b.updatedAt || (a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0),
    );
  };
  const read = async (offset: string): Promise<StreamRead> => {
    const [since, skip] = parseOffset(offset) ?? [0, 0];
    const all = await rows();
    const batches: StreamBatch[] = [];
    let at = since;
    let k = skip;
    let seenAtSince = 0;
    for (const run of all) {
      if (run.updatedAt < since) continue;
      if (run.updatedAt === since && seenAtSince++ < skip) continue;
      if (run.updatedAt !== at) {
        at = run.updatedAt;
        k = 0;
      }
      k++;
      const message = {
        type: "run",
        key: run.runId,
        value: runListView(run),
        headers: { operation: "upsert", timestamp: new Date(run.updatedAt).toISOString() },
      };
      batches.push({ offset: formatOffset(at, k), items: [JSON.stringify(message)] });
      if (batches.length >= MAX_BATCHES) break;
    }
    return {
      batches,
      nextOffset: batches.at(-1)?.offset ?? formatOffset(since, skip),
      upToDate: batches.length < MAX_BATCHES,
      closed: false,
    };
  };
  return {
    contentType: JSON_TYPE,
    startOffset: formatOffset(0, 0),
    read,
    tail: () => tailByReading(read),
    wait: (_offset, ms, signal) => runChange(world, undefined, ms, signal),
  };
}

/** A source with no cheaper way to find its end reads from the start until it is up to date. */
async function tailByReading(
  read: (offset: string) => Promise<{ nextOffset: string; upToDate: boolean; closed: boolean }>,
): Promise<{ offset: string; closed: boolean }> {
  let offset = formatOffset(0, 0);
  for (;;) {
    const r = await read(offset);
    offset = r.nextOffset;
    if (r.upToDate) return { offset, closed: r.closed };
  }
}
