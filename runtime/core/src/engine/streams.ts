/**
 * Run output streams (`getWritable`, `run.getReadable`, streams passed between steps): chunks live in the
 * world (`writeStream`/`readStream`), so a reader in any process can start at any index, follow the stream
 * live until it closes, and resume after a disconnect from the last index it received.
 *
 * On the wire a stream is a reference `{ runId, name, kind }` (tag `wfkit.stream`). Inside the sandbox it
 * revives as an inert handle: workflow code cannot do I/O, so it can only pass a stream on (to a step, or as
 * its result). In host code it revives as a real `WritableStream`/`ReadableStream` bound to the world.
 * A host `ReadableStream` that a step returns (or passes on) is pumped into a new world stream of the run.
 */

import { randomBytes } from "node:crypto";
import { TERMINAL_RUN_STATUSES, type World } from "@wfkit/world";
import { log } from "../observability/logger.js";
import {
  deserialize,
  deserializeError,
  type Reducer,
  registerReducer,
  serialize,
  serializeError,
} from "../serialization/index.js";
import { realmKitOf } from "../vm/index.js";

export const DEFAULT_STREAM = "default";
const HANDLE = Symbol.for("wfkit.streamHandle");
const TAG = "wfkit.stream";

export interface StreamRef {
  runId: string;
  name: string;
  kind: "readable" | "writable";
}

type WorldSource = () => Promise<World>;

/** Streams this process made from a ref: passing one on reuses its ref instead of copying it. */
const refs = new WeakMap<object, StreamRef>();

/**
 * What workflow code holds for a stream: a reference it can pass to steps or return, nothing more. Made of the
 * workflow realm's objects and functions when `realm` is a run's globalThis.
 */
export function streamHandle(ref: StreamRef, realm?: object): Record<string | symbol, unknown> {
  const refuse = () => {
    throw new Error(
      `Workflow code cannot ${ref.kind === "writable" ? "write to" : "read from"} a stream: that is I/O. ` +
        'Pass the stream to a "use step" function and use it there (or return it from the workflow).',
    );
  };
  const kit = realm ? realmKitOf(realm) : undefined;
  const make = <T extends object>(record: T): T => (kit ? kit.object(record) : record);
  return Object.freeze(
    make({
      [HANDLE]: Object.freeze(make({ ...ref })),
      kind: ref.kind,
      name: ref.name,
      getWriter: refuse,
      getReader: refuse,
      pipeTo: refuse,
      pipeThrough: refuse,
    }),
  );
}

function worldOf(world: World): Required<Pick<World, "writeStream" | "readStream">> & World {
  if (!world.writeStream || !world.readStream) {
    throw new Error(
      `The "${world.name}" world does not support streams (it has no writeStream/readStream). Use a world that ` +
        "does (local, memory), or avoid getWritable() and stream values with this world.",
    );
  }
  return world as Required<Pick<World, "writeStream" | "readStream">> & World;
}

/** A `WritableStream` whose chunks are appended to the world stream `name` of the run. */
export function worldWritable(source: WorldSource, runId: string, name: string): WritableStream<unknown> {
  const stream = new WritableStream<unknown>({
    async write(chunk) {
      const data = serialize(chunk, { path: `stream "${name}" chunk` });
      await worldOf(await source()).writeStream(runId, name, [data]);
    },
    async close() {
      await worldOf(await source()).writeStream(runId, name, [], { close: true });
    },
    // `writer.abort(error)`: readers fail with the error instead of seeing a stream that just ends.
    async abort(reason) {
      await worldOf(await source()).writeStream(runId, name, [STREAM_ERROR + serializeError(reason)], {
        close: true,
      });
    },
  });
  refs.set(stream, { runId, name, kind: "writable" });
  return stream;
}

export interface ReadOptions {
  startIndex?: number;
  /** Chunks per read (default 100). */
  batch?: number;
  /** After the run has ended, how long a stream that was never closed may stay silent before it counts as
   *  finished (default 2000 ms): a step may still be writing a stream it returned. */
  endGraceMs?: number;
}

/**
 * A `ReadableStream` over the world stream `name` of the run, from `startIndex`: it follows new chunks live
 * (notified through `subscribeStream`, with a poll as a safety net) and closes when the writer closes the
 * stream, or once the run has ended and the stream stayed silent for `endGraceMs`.
 */
export function worldReadable(
  source: WorldSource,
  runId: string,
  name: string,
  opts: ReadOptions = {},
): WorkflowReadableStream<unknown> {
  const startIndex = opts.startIndex ?? 0;
  if (!Number.isInteger(startIndex)) {
    throw new TypeError(
      `getReadable({ startIndex }): startIndex must be an integer, got ${String(startIndex)}.`,
    );
  }
  // A negative startIndex counts from the end (-5: the last five chunks), resolved when reading starts.
  let next = startIndex >= 0 ? startIndex : undefined;
  const batch = opts.batch ?? 100;
  const grace = opts.endGraceMs ?? 2000;
  let silentSince: number | undefined;
  let cancelled = false;
  const stream = new ReadableStream<unknown>(
    {
      async pull(controller) {
        const world = worldOf(await source());
        next ??= Math.max(0, (await tailIndexOf(world, runId, name)) + 1 + startIndex);
        while (!cancelled) {
          const page = await world.readStream(runId, name, { startIndex: next, limit: batch });
          if (page.chunks.length > 0) {
            for (const chunk of page.chunks) {
              if (chunk.data.startsWith(STREAM_ERROR)) {
                // The producer's stream failed: the consumer's read fails with its error (WDK's stream failures).
                cancelled = true;
                controller.error(deserializeError(chunk.data.slice(STREAM_ERROR.length)));
                return;
              }
              controller.enqueue(deserialize(chunk.data));
            }
            next = page.chunks.at(-1)!.index + 1;
            silentSince = undefined;
            return;
          }
          if (page.closed) return controller.close();
          const run = await world.getRun(runId);
          if (!run || TERMINAL_RUN_STATUSES.includes(run.status)) {
            silentSince ??= Date.now();
            if (Date.now() - silentSince >= grace) return controller.close();
          }
          await changeOf(world, runId, name, silentSince === undefined ? 1000 : Math.min(250, grace));
        }
      },
      cancel() {
        cancelled = true;
      },
    },
    { highWaterMark: 0 },
  );
  refs.set(stream, { runId, name, kind: "readable" });
  return Object.defineProperty(stream, "getTailIndex", {
    value: async () => tailIndexOf(worldOf(await source()), runId, name),
    configurable: true,
  }) as WorkflowReadableStream<unknown>;
}

/**
 * What `run.getReadable()` returns (WDK's name): a `ReadableStream` of the chunks written, plus `getTailIndex()`,
 * the index of the last chunk written so far (0-based; -1 when none), e.g. for an `x-workflow-stream-tail-index`
 * header of a reconnection endpoint.
 */
export type WorkflowReadableStream<T = unknown> = ReadableStream<T> & { getTailIndex(): Promise<number> };

export interface WorkflowReadableStreamOptions {
  /** The stream's namespace (`getWritable({ namespace })`); default "default". */
  namespace?: string;
  /** The first chunk to read: an index, or a negative count from the end (-5: the last five chunks). */
  startIndex?: number;
}

/**
 * A chunk that records the failure of the stream it ends (a step's returned stream errored): its data is this
 * prefix and the serialized error. Serialized chunks never start with it (the codec writes JSON).
 */
const STREAM_ERROR = "!wfkit.stream-error:";

async function tailIndexOf(world: World & Required<Pick<World, "readStream">>, runId: string, name: string) {
  if (world.listStreams) {
    const info = (await world.listStreams(runId)).find((s) => s.name === name);
    return (info?.chunks ?? 0) - 1;
  }
  let next = 0;
  for (;;) {
    const page = await world.readStream(runId, name, { startIndex: next, limit: 1000 });
    if (page.chunks.length === 0) return next - 1;
    next = page.chunks.at(-1)!.index + 1;
  }
}

/** Resolves on the next write to the stream, or after `timeoutMs` (a world may not see other processes). */
function changeOf(world: World, runId: string, name: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    let off: (() => void) | undefined;
    const timer = setTimeout(done, timeoutMs);
    function done() {
      clearTimeout(timer);
      off?.();
      resolve();
    }
    off = world.subscribeStream?.(runId, name, done);
  });
}

/** Copies a host ReadableStream into a new world stream of the run, in the background. */
function pump(source: WorldSource, runId: string, readable: ReadableStream<unknown>): StreamRef {
  const ref: StreamRef = { runId, name: `s_${randomBytes(9).toString("base64url")}`, kind: "readable" };
  refs.set(readable, ref);
  void (async () => {
    const world = worldOf(await source());
    const reader = readable.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        await world.writeStream(ref.runId, ref.name, [serialize(value, { path: "stream chunk" })]);
      }
    } catch (error) {
      log.warn(`a stream of run ${runId} failed; its readers get the error`, {
        runId,
        stream: ref.name,
        error,
      });
      await world.writeStream(ref.runId, ref.name, [STREAM_ERROR + serializeError(error)]).catch(() => {});
    } finally {
      await world.writeStream(ref.runId, ref.name, [], { close: true }).catch(() => {});
    }
  })();
  return ref;
}

export interface StreamScope {
  world: WorldSource;
  /** The run a stream made from a host ReadableStream belongs to. */
  runId?: string;
}

/**
 * The scope the registered reducer uses while `fn` runs (synchronously): how the engine gives the world and
 * run to a hot-path serialize/deserialize without passing per-call reducers, which would rebuild the codec's
 * reducer tables on every call.
 */
let activeScope: StreamScope | undefined;
export function withStreamScope<T>(scope: StreamScope, fn: () => T): T {
  const outer = activeScope;
  activeScope = scope;
  try {
    return fn();
  } finally {
    activeScope = outer;
  }
}

/**
 * The reducer for one place where values cross: `fixed` (else the scope of `withStreamScope`) gives the world
 * (and run) host-side streams use. Without a scope it still handles sandbox handles and streams made from
 * refs; a host ReadableStream then cannot be serialized (no run to store it in).
 */
export function streamReducer(fixed?: StreamScope): Reducer {
  return {
    tag: TAG,
    reduce(value) {
      if (typeof value !== "object" || value === null) return undefined;
      const handle = (value as Record<symbol, StreamRef | undefined>)[HANDLE];
      if (handle) return handle;
      const known = refs.get(value);
      if (known) return known;
      const scope = fixed ?? activeScope;
      if (scope?.runId && value instanceof ReadableStream) return pump(scope.world, scope.runId, value);
      return undefined;
    },
    revive(data, realm) {
      const ref = data as StreamRef;
      const scope = fixed ?? activeScope;
      if (realm !== globalThis || !scope) return streamHandle(ref, realm);
      return ref.kind === "writable"
        ? worldWritable(scope.world, ref.runId, ref.name)
        : worldReadable(scope.world, ref.runId, ref.name);
    },
  };
}

// Registered when this module loads so that sandbox handles survive every serialize/deserialize, even where
// no scope is passed (the instance's own calls).
registerReducer(streamReducer());
