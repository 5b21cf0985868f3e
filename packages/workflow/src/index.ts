/**
 * `workflow`: the functions workflow and step code call. This module is bundled into the workflow sandbox,
 * so it imports nothing from Node: each function delegates to the runtime object that the sandbox (per
 * run) or the host process (for steps) installs under a global symbol.
 */
import { RUNTIME_KEY } from "@wfkit/core/sandbox";

export {
  EventTimeoutError,
  FatalError,
  HookConflictError,
  type HookInfo,
  HookNotFoundError,
  HookPayloadInvalidError,
  RetryableError,
  type RetryableErrorOptions,
  type StepMetadata,
  StepTimeoutError,
  type WorkflowMetadata,
  WorkflowRunCancelledError,
} from "@wfkit/core/sandbox";

import {
  type HookInfo,
  HookPayloadInvalidError,
  type StepMetadata,
  type WorkflowMetadata,
} from "@wfkit/core/sandbox";

export interface HookOptions {
  /** A token of your choice (unique among live hooks); by default a random one of 192 bits. */
  token?: string;
  /** Stored with the hook; application code reads it through `getHookByToken`. */
  metadata?: unknown;
}

/**
 * A point where the run waits for the outside world. `await hook` gives the next payload; `for await (const p
 * of hook)` gives every payload in arrival order (also those that arrived before the loop started) until
 * `hook.dispose()`, which also frees the token.
 */
export interface Hook<T = any> extends PromiseLike<T>, AsyncIterable<T> {
  readonly token: string;
  dispose(): void;
  /**
   * Settles once the run has recorded the hook (awaiting it suspends the run until then): `null` when the token
   * is now this hook's, `{ runId }` of the run whose live hook holds it otherwise (then `await hook` rejects with
   * `HookConflictError`). It does not wait for a payload.
   */
  getConflict(): Promise<HookConflict | null>;
  /** `using hook = createHook()`: disposes the hook when the block ends. */
  [Symbol.dispose](): void;
}

/** The run that holds a hook's token (`hook.getConflict()`). */
export interface HookConflict {
  runId: string;
}

export interface WebhookOptions {
  /** A token of your choice (unique among live hooks); by default a random one. */
  token?: string;
  /**
   * What the HTTP caller gets: by default 202 Accepted; a `Response` sent to every caller; or "manual": a step
   * answers with `request.respondWith(response)` (504 when no answer comes in time, `WORKFLOW_WEBHOOK_TIMEOUT_MS`).
   */
  respondWith?: Response | "manual";
}

/** A request delivered to a webhook; with `respondWith: "manual"`, a step answers it with `respondWith`. */
export type RequestWithResponse = Request & { respondWith(response: Response): Promise<void> };

/** This project's earlier name of `RequestWithResponse`. */
export type WebhookRequest = RequestWithResponse;

/** A hook resumed by HTTP requests to `url` (`<base URL>/.well-known/workflow/v1/webhook/<token>`). */
export interface Webhook<T = RequestWithResponse> extends Hook<T> {
  readonly url: string;
}

/** The part of the Standard Schema interface (standardschema.dev) that `defineHook` uses: zod 4, valibot and
 *  arktype schemas all carry it. Written out here because workflow code may import nothing else. */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly "~standard": {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => StandardResult<Output> | Promise<StandardResult<Output>>;
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  };
}

type StandardResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | {
      readonly issues: ReadonlyArray<{
        readonly message: string;
        readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
      }>;
    };

export interface DefinedHook<TIn, TOut> {
  /** Creates a hook of this type (workflow code). */
  create(opts?: HookOptions): Hook<TOut>;
  /**
   * Validates `payload` with the schema and delivers the schema's output (application code). An invalid payload
   * is refused with `HookPayloadInvalidError` listing the schema's issues, and nothing is delivered.
   */
  resume(token: string, payload: TIn): Promise<HookInfo>;
}

/** WDK's name of what `defineHook()` returns. */
export type TypedHook<TIn, TOut = TIn> = DefinedHook<TIn, TOut>;

interface RuntimeBinding {
  sleep(duration: string | number | Date): Promise<void>;
  createHook(opts?: HookOptions): Hook<unknown>;
  resumeHook(token: string, payload: unknown): Promise<HookInfo>;
  getWritable(opts?: { namespace?: string }): WritableStream<unknown>;
  createWebhook(opts?: WebhookOptions): Webhook;
  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response>;
  getStepMetadata(): StepMetadata;
  getWorkflowMetadata(): WorkflowMetadata;
  waitForEvent?(name: string, opts?: WaitForEventOptions): Promise<unknown>;
  setQueryHandler?(name: string, handler: (...args: never[]) => unknown): void;
}

function runtime(fn: string): RuntimeBinding {
  const bound = (globalThis as Record<symbol, RuntimeBinding | undefined>)[RUNTIME_KEY];
  if (!bound) {
    throw new Error(
      `${fn} needs the workflow runtime, which is not loaded in this process. Start the program with ` +
        "`node --import workflow/register`, or build it with a workflow bundler plugin.",
    );
  }
  return bound;
}

/** Durable sleep: `"1.5s"`, `"10m"`, `"3d"`, milliseconds, or a Date. Survives restarts. Workflow code only. */
export function sleep(duration: string | number | Date): Promise<void> {
  return runtime("sleep()").sleep(duration);
}

/** Metadata of the step being executed. Step code only. */
export function getStepMetadata(): StepMetadata {
  return runtime("getStepMetadata()").getStepMetadata();
}

/** Metadata of the current run. Workflow and step code. */
export function getWorkflowMetadata(): WorkflowMetadata {
  return runtime("getWorkflowMetadata()").getWorkflowMetadata();
}

/**
 * Answers `run.query(name, ...args)` from outside the run with what `handler` returns. Workflow code only. The
 * handler reads the workflow's state and must not change it, and answers synchronously: a query is answered from
 * the run's recorded state (a live instance or a replay), so whatever it changed would not be in the log.
 */
export function setQueryHandler<A extends unknown[], R>(name: string, handler: (...args: A) => R): void {
  const rt = runtime("setQueryHandler()");
  if (!rt.setQueryHandler) {
    throw new Error('setQueryHandler() can only be called in a "use workflow" function.');
  }
  rt.setQueryHandler(name, handler as (...args: never[]) => unknown);
}

/** A hook the run waits on; see `Hook`. Workflow code only. */
export function createHook<T = any>(opts?: HookOptions): Hook<T> {
  return runtime("createHook()").createHook(opts) as Hook<T>;
}

/** A typed hook, optionally validated with a Standard Schema when resumed. */
export function defineHook<TIn, TOut = TIn>(
  opts: { schema?: StandardSchemaV1<TIn, TOut> } = {},
): DefinedHook<TIn, TOut> {
  return {
    create: (hookOpts) => createHook<TOut>(hookOpts),
    async resume(token, payload) {
      let value: unknown = payload;
      if (opts.schema) {
        const result = await opts.schema["~standard"].validate(payload);
        if (result.issues) throw new HookPayloadInvalidError(token, result.issues);
        value = result.value;
      }
      return runtime("resumeHook()").resumeHook(token, value);
    },
  };
}

/**
 * The run's durable output stream (`namespace` default "default"). In a step: a WritableStream whose chunks
 * (text, binary or objects) are stored in the world; close it when done. In workflow code: a handle to pass to
 * a step (workflow code cannot do I/O itself). Application code reads it with `run.getReadable()`.
 */
export function getWritable<T = unknown>(opts?: { namespace?: string }): WritableStream<T> {
  return runtime("getWritable()").getWritable(opts) as WritableStream<T>;
}

/** A hook that HTTP requests resume; awaiting it gives the `Request`. Workflow code only. */
export function createWebhook<T = RequestWithResponse>(opts?: WebhookOptions): Webhook<T> {
  return runtime("createWebhook()").createWebhook(opts) as unknown as Webhook<T>;
}

/**
 * `fetch` for workflow code: runs as a step (recorded, retried like any step), so the workflow sees the same
 * Response on every replay. The Response's `.json()`, `.text()` and `.arrayBuffer()` run as steps too. In step
 * code it is the platform's fetch.
 */
export function fetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
  return runtime("fetch()").fetch(input, init);
}

export interface WaitForEventOptions {
  /** Only events emitted with this key (`emit(name, data, { key })`); without it, every event of the name. */
  key?: string;
  /** How long to wait (`"10m"`, ms); then the wait rejects with `EventTimeoutError`. Default: no limit. */
  timeout?: string | number;
}

/** An event as `waitForEvent()` gives it (and as a workflow started by `trigger()` receives it). */
export interface EmittedEvent<T = unknown> {
  id: string;
  name: string;
  key?: string;
  data: T;
  emittedAt: Date;
}

/**
 * Waits durably for the next event `name` that `emit()` sends (from application, workflow or step code, in any
 * process) after the wait began. Every waiting run receives each event once (fan-out, unlike a hook's single
 * token). With `timeout`, rejects with `EventTimeoutError` when none arrives in time. Workflow code only.
 */
export function waitForEvent<T = unknown>(
  name: string,
  opts?: WaitForEventOptions,
): Promise<EmittedEvent<T>> {
  const rt = runtime("waitForEvent()");
  if (!rt.waitForEvent) {
    throw new Error('waitForEvent() can only be called in a "use workflow" function.');
  }
  return rt.waitForEvent(name, opts) as Promise<EmittedEvent<T>>;
}
