/**
 * `workflow/client`: follow runs live from a browser (or any JavaScript runtime with `fetch`). Browser-safe: it
 * imports nothing from Node and nothing of the engine.
 *
 * A run's state is a Durable Streams State Protocol stream (`/.well-known/workflow/v1/streams/runs/<id>/state`)
 * materialised with `MaterializedState` of `@durable-streams/state`; its output (`getWritable()`) is a JSON stream
 * beside it. Both are read with `@durable-streams/client` from an offset, so after a dropped connection, a
 * server restart or (with `persist`) a page reload the subscription continues where it stopped: nothing is
 * shown twice and nothing is missed.
 */
import { type JsonBatch, type StreamResponse, stream } from "@durable-streams/client";
import { type ChangeEvent, MaterializedState } from "@durable-streams/state";

export type RunStatus = "pending" | "running" | "paused" | "completed" | "failed" | "cancelled";
const TERMINAL: readonly string[] = ["completed", "failed", "cancelled"];

/** An error as the browser sees it: class name and message (never the server's stack). */
export interface RunErrorView {
  name: string;
  message: string;
}

/** The fields a run has both in its own state and as a row of the runs list. */
export interface RunSummary {
  runId: string;
  /** The workflow's ID (`workflow//src/signup.ts//signup`); `name` is its short name (`signup`). */
  workflowName: string;
  name: string;
  status: RunStatus;
  createdAt: number;
  startedAt?: number;
  completedAt?: number;
}

export interface RunView extends RunSummary {
  /** The return value once completed (as JSON; see the docs for Dates, Maps, bytes…). */
  output?: unknown;
  error?: RunErrorView;
  cancelReason?: string;
}

export interface StepView {
  stepId: string;
  stepName: string;
  name: string;
  status: "pending" | "running" | "retrying" | "completed" | "failed";
  attempt: number;
  createdAt: number;
  startedAt?: number;
  completedAt?: number;
  retryAt?: number;
  output?: unknown;
  error?: RunErrorView;
}

export interface HookView {
  hookId: string;
  kind: "hook" | "webhook";
  status: "active" | "disposed";
  createdAt: number;
  disposedAt?: number;
  /** Payloads delivered so far. */
  received: number;
}

export interface WaitView {
  waitId: string;
  status: "waiting" | "completed";
  resumeAt: number;
  createdAt: number;
  completedAt?: number;
}

/** Everything known about a run right now. A new object after each change (React can compare by identity). */
export interface RunSnapshot<TChunk = unknown> {
  runId: string;
  /** `loading` until the first state arrives. */
  status: RunStatus | "loading";
  run?: RunView;
  /** In the order the workflow called them. */
  steps: StepView[];
  hooks: HookView[];
  waits: WaitView[];
  /** The chunks of the run's output stream (`getWritable()`), in order. */
  output: TChunk[];
  /** The run's return value once completed. */
  returnValue?: unknown;
  error?: RunErrorView;
  /** Both streams have been read up to their current end at least once. */
  upToDate: boolean;
  /** The output stream has ended (its writer closed it, or the run ended): `output` is complete. */
  outputClosed: boolean;
  /** Where each stream continues (what `persist` stores). */
  offsets: { state: string; output: string };
  /** The last error reading the streams (the client keeps retrying). */
  connectionError?: Error;
}

export interface SubscribeRunOptions {
  /** `run.readToken` (or `createReadToken(runId)`) from your server. */
  token?: string;
  /** Where the workflow endpoints are mounted; default `/.well-known/workflow/v1` of the page's origin. */
  baseUrl?: string;
  /** The output stream's namespace (`getWritable({ namespace })`); default the default stream. */
  namespace?: string;
  /** `sse` (default), `long-poll`, or `false` to read what exists and stop. */
  live?: "sse" | "long-poll" | false;
  /**
   * Keep the state and offsets in `sessionStorage` (`"session"`) or `localStorage` (`"local"`), so a page reload
   * continues from the offsets instead of starting over. Default `"session"` in browsers.
   */
  persist?: "session" | "local" | false;
  fetch?: typeof fetch;
}

export interface RunSubscription<TChunk = unknown> {
  getSnapshot(): RunSnapshot<TChunk>;
  /** Stops reading; the snapshot stays as it was. */
  unsubscribe(): void;
}

const START = "-1";

/** 4xx answers (a bad or expired token, another run's token, an unknown run) are final; the rest is retried. */
function refused(error: unknown): boolean {
  const status = (error as { status?: unknown } | undefined)?.status;
  return typeof status === "number" && status >= 400 && status < 500 && status !== 429;
}

/** Keeps a stream going through server restarts and network errors (the client backs off between attempts). */
async function retryUnlessRefused(error: Error): Promise<Record<string, never> | undefined> {
  return refused(error) ? undefined : {};
}

function defaultBase(): string {
  const origin = (globalThis as { location?: { origin?: string } }).location?.origin;
  if (!origin) {
    throw new TypeError(
      "subscribeRun: pass { baseUrl } (e.g. http://localhost:3000/.well-known/workflow/v1): there is no page origin here.",
    );
  }
  return `${origin}/.well-known/workflow/v1`;
}

function storageOf(kind: SubscribeRunOptions["persist"]): Storage | undefined {
  if (kind === false) return undefined;
  const g = globalThis as { sessionStorage?: Storage; localStorage?: Storage };
  try {
    return (kind === "local" ? g.localStorage : g.sessionStorage) ?? undefined;
  } catch {
    return undefined; // storage disabled (privacy mode)
  }
}

interface Persisted {
  offsets: { state: string; output: string };
  outputClosed?: boolean;
  entities: Record<string, [string, unknown][]>;
  output: unknown[];
}

const ENTITY_TYPES = ["run", "step", "hook", "wait"] as const;

/**
 * Follows a run's state and output. `listener` gets a new snapshot after every change (and once the stored
 * state is restored). Reading starts at once; call `unsubscribe()` to stop.
 */
export function subscribeRun<TChunk = unknown>(
  runId: string,
  options: SubscribeRunOptions,
  listener: (snapshot: RunSnapshot<TChunk>) => void,
): RunSubscription<TChunk> {
  if (typeof runId !== "string" || runId.length === 0) {
    throw new TypeError(`subscribeRun(runId): runId must be a non-empty string, got ${String(runId)}.`);
  }
  const base = (options.baseUrl ?? defaultBase()).replace(/\/+$/, "");
  const namespace = options.namespace ?? "default";
  const root = `${base}/streams/runs/${encodeURIComponent(runId)}`;
  const urls = {
    state: `${root}/state`,
    output: namespace === "default" ? `${root}/output` : `${root}/output/${encodeURIComponent(namespace)}`,
  };
  const storage = storageOf(options.persist ?? "session");
  const storageKey = `wfkit.run.${runId}.${namespace}`;

  const state = new MaterializedState();
  let output: TChunk[] = [];
  let offsets = { state: START, output: START };
  const upToDate = { state: false, output: false };
  let outputClosed = false;
  /** The offset at which the output session ended closed, until its batches have been applied. */
  let outputCloseAt: string | undefined;
  let connectionError: Error | undefined;

  const restored = storage?.getItem(storageKey);
  if (restored) {
    try {
      const saved = JSON.parse(restored) as Persisted;
      for (const type of ENTITY_TYPES) {
        for (const [key, value] of saved.entities[type] ?? []) {
          state.apply({ type, key, value, headers: { operation: "insert" } });
        }
      }
      output = saved.output as TChunk[];
      offsets = saved.offsets;
      outputClosed = saved.outputClosed === true;
    } catch {
      storage?.removeItem(storageKey);
    }
  }

  let snapshot = build();
  function build(): RunSnapshot<TChunk> {
    const run = state.get<RunView>("run", runId);
    const values = <T>(type: string) => [...state.getType(type).values()] as T[];
    return {
      runId,
      status: run?.status ?? "loading",
      ...(run ? { run } : {}),
      steps: values<StepView>("step"),
      hooks: values<HookView>("hook"),
      waits: values<WaitView>("wait"),
      output,
      ...(run?.status === "completed" ? { returnValue: run.output } : {}),
      ...(run?.error ? { error: run.error } : {}),
      upToDate: upToDate.state && upToDate.output,
      outputClosed,
      offsets: { ...offsets },
      ...(connectionError ? { connectionError } : {}),
    };
  }
  function changed() {
    snapshot = build();
    if (storage) {
      const saved: Persisted = {
        offsets,
        outputClosed,
        entities: Object.fromEntries(ENTITY_TYPES.map((t) => [t, [...state.getType(t).entries()]])),
        output,
      };
      try {
        storage.setItem(storageKey, JSON.stringify(saved));
      } catch {
        // Full storage: a reload then starts over, which is correct, only slower.
      }
    }
    listener(snapshot);
  }

  const sessions: StreamResponse[] = [];
  const controller = new AbortController();
  let stopped = false;
  const live = options.live ?? "sse";

  async function follow(which: "state" | "output", onBatch: (batch: JsonBatch<unknown>) => void) {
    while (!stopped) {
      try {
        const res = await stream<unknown>({
          url: urls[which],
          offset: offsets[which],
          live,
          json: true,
          signal: controller.signal,
          ...(options.token ? { params: { token: options.token } } : {}),
          ...(options.fetch ? { fetch: options.fetch } : {}),
          onError: retryUnlessRefused,
        });
        sessions.push(res);
        await new Promise<void>((resolve, reject) => {
          res.subscribeJson((batch) => {
            // Keep-alive control events bring nothing new: no snapshot for them.
            const news =
              batch.items.length > 0 ||
              batch.offset !== offsets[which] ||
              (batch.upToDate && !upToDate[which]) ||
              (which === "output" && batch.streamClosed && !outputClosed) ||
              connectionError !== undefined;
            if (!news) return;
            onBatch(batch);
            offsets[which] = batch.offset;
            upToDate[which] ||= batch.upToDate;
            if (which === "output" && (batch.streamClosed || offsets.output === outputCloseAt))
              outputClosed = true;
            connectionError = undefined;
            changed();
          });
          res.closed.then(resolve, reject);
        });
        // The session ended: the stream was closed (or live is off). Nothing more to read.
        // The session may end before its last batches reach the subscriber: closed once they have.
        if (which === "output" && res.streamClosed && !outputClosed) {
          if (offsets.output === res.offset) {
            outputClosed = true;
            changed();
          } else {
            outputCloseAt = res.offset;
          }
        }
        return;
      } catch (error) {
        if (stopped) return;
        connectionError = error instanceof Error ? error : new Error(String(error));
        changed();
        // A refusal (bad token, unknown run) will not change by asking again.
        if (refused(error)) return;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  void follow("state", (batch) => {
    for (const item of batch.items) {
      const event = item as ChangeEvent & { headers: { control?: string } };
      if (event.headers?.control === "reset") state.clear();
      else if (event.type) state.apply(event);
    }
  });
  void follow("output", (batch) => {
    if (batch.items.length > 0) output = [...output, ...(batch.items as TChunk[])];
  });
  if (restored) queueMicrotask(() => listener(snapshot));

  return {
    getSnapshot: () => snapshot,
    unsubscribe() {
      stopped = true;
      controller.abort();
      for (const s of sessions) s.cancel();
    },
  };
}

/** A run as the runs list shows it. */
export interface RunListItem extends RunSummary {
  updatedAt: number;
}

export interface SubscribeRunsOptions extends Omit<SubscribeRunOptions, "namespace" | "persist"> {}

/**
 * Follows the runs list (newest 1,000 runs by creation) live; `token` must be `createReadToken("*")`, a token
 * for every run (an operator's page, never a public one). `listener` gets the runs newest first.
 */
export function subscribeRuns(
  options: SubscribeRunsOptions,
  listener: (runs: RunListItem[]) => void,
): { unsubscribe(): void } {
  const base = (options.baseUrl ?? defaultBase()).replace(/\/+$/, "");
  const state = new MaterializedState();
  const controller = new AbortController();
  let session: StreamResponse | undefined;
  let stopped = false;
  void (async () => {
    session = await stream<ChangeEvent>({
      url: `${base}/streams/runs`,
      offset: START,
      live: options.live ?? "sse",
      json: true,
      signal: controller.signal,
      ...(options.token ? { params: { token: options.token } } : {}),
      ...(options.fetch ? { fetch: options.fetch } : {}),
      onError: retryUnlessRefused,
    });
    if (stopped) return session.cancel();
    session.subscribeJson<ChangeEvent>((batch) => {
      for (const event of batch.items) state.apply(event);
      const runs = [...state.getType("run").values()] as RunListItem[];
      listener(runs.sort((a, b) => b.createdAt - a.createdAt || (a.runId < b.runId ? 1 : -1)));
    });
  })().catch(() => {});
  return {
    unsubscribe() {
      stopped = true;
      controller.abort();
      session?.cancel();
    },
  };
}

/**
 * Whether a run has ended: `completed`, `failed` or `cancelled`. A failed run can still be retried, which is
 * why its state stream stays open: a subscriber sees the status change back to `running` if that happens.
 */
export function isFinished(status: RunSnapshot["status"]): boolean {
  return TERMINAL.includes(status);
}

/** What a run looks like before anything is known (and while rendering on the server). */
export function idleSnapshot<TChunk = unknown>(runId: string | undefined): RunSnapshot<TChunk> {
  return {
    runId: runId ?? "",
    status: "loading",
    steps: [],
    hooks: [],
    waits: [],
    output: [],
    upToDate: false,
    outputClosed: false,
    offsets: { state: "-1", output: "-1" },
  };
}
