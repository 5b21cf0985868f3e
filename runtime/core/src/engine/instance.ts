/**
 * One run's workflow code, live in its sandbox. The instance knows nothing about storage: it is fed events
 * (from the log during replay, or freshly made by the live driver), resolves the matching promises inside the
 * sandbox, and records, in order, the operations the code asks for next. Replay and live execution take the
 * same path (`apply`), which is what makes them agree.
 */

import type { Script } from "node:vm";
import type { NewEvent } from "@wfkit/world";
import { RUNTIME_KEY, USE_STEP_KEY } from "../sandbox/abi.js";
import { parseDuration } from "../sandbox/duration.js";
import { EventTimeoutError } from "../sandbox/errors.js";
import { HookConflictError } from "../sandbox/hook-errors.js";
import {
  QueryNotFoundError,
  WorkflowRunCancelledError,
  WorkflowRunFailedError,
} from "../sandbox/run-errors.js";
import { WorkflowNotRegisteredError } from "../sandbox/workflow-error.js";
import {
  BODY_READER_KEY,
  deserialize,
  deserializeError,
  serialize,
  serializeError,
} from "../serialization/index.js";
import { eventNameProblem, eventWaitToken } from "../triggers/event-tokens.js";
import { createSandbox, type RealmKit, type Sandbox } from "../vm/index.js";
import { EMIT_STEP, FETCH_STEP, READ_BODY_STEP, START_CHILD_STEP } from "./builtin-steps.js";
import { ReplayDivergenceError } from "./engine-errors.js";
import { rescindedSeqs } from "./history.js";
import { HookChannel } from "./hook-channel.js";
import { hookTokenProblem, newHookToken } from "./hook-token.js";
import { correlationId, type OperationKind } from "./ids.js";
import { sameFunctionId } from "./legacy-ids.js";
import { trackSandboxRealm } from "./sandbox-rejections.js";
import { recordError } from "./step-outcome.js";
import { DEFAULT_STREAM, streamHandle } from "./streams.js";
import { checkRespondWith, webhookUrl } from "./webhooks.js";
import { workflowBaseUrl } from "./workflow-url.js";

/** An event to apply: stored events carry their seq; live ones are applied before they are stored. */
export type AppliedEvent = NewEvent & { createdAt: number; seq?: number };

/** The input stored in `step_created.data.input`: arguments plus, for nested steps, their closure. */
export interface StepInput {
  args: unknown[];
  closure?: Record<string, unknown>;
  /**
   * The step's `this`: the instance a `"use step"` instance method was called on, or the value given to
   * `.call()`/`.apply()` (WDK's `thisSerializationWorkflow`), serialized like an argument.
   */
  self?: unknown;
}

/** Instance-method steps are named `Class#method` by the compiler: for them `this` must cross. */
function isInstanceMethodStep(stepId: string): boolean {
  const at = stepId.lastIndexOf("//");
  return at !== -1 && stepId.slice(at + 2).includes("#");
}

export interface Operation {
  cid: string;
  /** "dispose": a `hook.dispose()` the code asked for (cid is the hook's); it lives only in the request queue. */
  kind: OperationKind | "dispose";
  /** Step ID (`step//…`) for steps, "sleep" for waits, "hook"/"webhook" for hooks, "dispose". */
  name: string;
  /** Serialized `StepInput` (steps). */
  input?: string;
  /** Wake-up of a sleep (epoch ms). */
  resumeAt?: number;
  /** Its `*_created` event has been applied. */
  logged: boolean;
  /** Latest `step_started` attempt (0 before the first). */
  attempt: number;
  /** A `step_started` was applied after the latest `step_retrying`: the body is running or must rerun. */
  started: boolean;
  /** Wake-up of the next attempt after a `step_retrying`. */
  retryAt?: number;
  /** When the first `step_started` was recorded (epoch ms): `getStepMetadata().stepStartedAt`. */
  firstStartedAt?: number;
  /** The attempt an operator's retry (`run_retried`) re-drove the step after: the retry budget counts from it. */
  attemptBase?: number;
  /** Hooks: what `hook_created` records. */
  hook?: HookRequest;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

export interface HookRequest {
  token: string;
  /** The token was chosen by the code (it may collide); generated ones are random. */
  custom: boolean;
  kind: "hook" | "webhook";
  metadata?: string;
  /** Creation options (webhook `respondWith`), serialized by the live driver: a Response body reads async. */
  options?: unknown;
  channel: HookChannel;
  /**
   * Called when the log settles the hook's registration: `hook_created` (no holder) or a refusal naming the run
   * that holds the token. It answers `hook.getConflict()`.
   */
  registered?: (holderRunId: string | undefined) => void;
  /** Workflow code awaits `getConflict()` now: settling it must happen inside a turn of the sandbox. */
  conflictAwaited?: () => boolean;
  /** The token was taken: the hook was never created, so disposing it records nothing. */
  refused?: boolean;
}

export type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

type WorkflowFn = (...args: unknown[]) => unknown;
type SandboxGlobal = Sandbox["global"];

export interface InstanceOptions {
  runId: string;
  workflowName: string;
  script: Script;
  env?: Record<string, string | undefined>;
  /** Bound of one turn of workflow code, in ms (0: none); default `WORKFLOW_CODE_TIMEOUT_MS`, else 5000. */
  timeLimitMs?: number;
}

export class WorkflowInstance {
  readonly runId: string;
  readonly workflowName: string;
  /** Operations not yet settled by a completion event, by correlation ID. */
  readonly ops = new Map<string, Operation>();
  /** Operations the code asked for that no `*_created` event has matched yet, in call order. */
  private readonly requested: Operation[] = [];
  private counter = 0;
  private readonly sandbox: Sandbox;
  private readonly realm: SandboxGlobal;
  private readonly kit: RealmKit;
  private readonly workflow: WorkflowFn;
  private now = 0;
  private startedAtMs = 0;
  /** How the workflow function settled, once it has. */
  outcome: Outcome | undefined;
  /**
   * What the log records for that outcome (`run_completed` with the serialized value, or `run_failed`), made in
   * the turn that settled it: reading the value (getters, class serializers, an error's stack) runs workflow code.
   */
  outcomeEvent: NewEvent | undefined;
  /** The terminal event applied, if any: after it nothing more happens. */
  terminal: "run_completed" | "run_failed" | "run_cancelled" | undefined;
  runStartedLogged = false;
  /** Tokens the log recorded for hooks (by correlation ID), so a replayed createHook() returns the same one. */
  private readonly recordedTokens = new Map<string, string>();
  /** Tokens of this run's hooks that are live (created, not disposed), for conflicts within the run. */
  private readonly liveTokens = new Map<string, string>();
  /** The log has a `hook_created`: deliveries (payloads recorded by other processes) may be waiting for the run. */
  hadHooks = false;
  /** Child runs this run started (`start()` in workflow code) whose outcome has not arrived yet, by child run ID. */
  private readonly children = new Map<string, ChildRecord>();
  private childCounter = 0;
  /** [events] `waitForEvent()` and `emit()` calls so far: they name the run's event hooks and event IDs. */
  private eventWaits = 0;
  private emits = 0;
  private lastHookCid = "";
  /** Set when this run is a child: where its outcome goes (`run_created.data.metadata.parent`). */
  parent: ParentLink | undefined;
  /** Query handlers the code registered (`setQueryHandler`), realm functions by name. */
  private readonly queries = new Map<string, (...args: unknown[]) => unknown>();
  /** Deliveries the log (or the outbox) already holds, by `hook_received.data.deliveryId`: each is applied once. */
  private readonly deliveries = new Set<string>();
  /** An operator paused the run (`run_paused`, until `run_resumed`): no step starts, no wake-up fires. */
  paused = false;
  /** Seqs an operator's retry took back (`run_retried.data.rescinds`): replays skip them. */
  private rescinded: Set<number> | undefined;

  constructor(opts: InstanceOptions) {
    this.runId = opts.runId;
    this.workflowName = opts.workflowName;
    // Host functions and a record of them: the sandbox installs realm functions calling them (sandbox.ts), and
    // whatever they hand workflow code is a primitive or a value of the realm (built with `this.sandbox.kit`).
    this.sandbox = createSandbox({
      seed: opts.runId,
      env: opts.env ?? process.env,
      globals: {
        [USE_STEP_KEY]: this.useStep,
        [RUNTIME_KEY]: this.runtimeApi(),
        [BODY_READER_KEY]: (message: unknown, method: string) =>
          this.requestStep(READ_BODY_STEP, [message, method]),
      },
      console: this.replayAwareConsole(),
      timeLimitMs: opts.timeLimitMs,
    });
    this.realm = this.sandbox.global;
    this.kit = this.sandbox.kit;
    trackSandboxRealm(this.realm);
    // Run now, in a turn of its own, so that code lacking this workflow is known before the run is driven.
    this.sandbox.run(opts.script);
    const fn = this.sandbox.getWorkflow(opts.workflowName);
    if (typeof fn !== "function") {
      throw new WorkflowNotRegisteredError(opts.workflowName, {
        detail: "The workflow bundle this process loaded does not define it.",
      });
    }
    this.workflow = fn;
  }

  /**
   * Set while events this process has already shown to the code are applied again (a replay into a fresh
   * sandbox): the code's console output is dropped so logs do not repeat on every replay.
   */
  replaying = false;

  /** Epoch ms of `run_created`: the run's start as workflow code sees it. */
  get startedAt(): number {
    return this.startedAtMs;
  }

  /** Operations the code asked for that are not in the log yet (the live driver records them). */
  unlogged(): readonly Operation[] {
    return this.requested;
  }

  /** True when the code can never make progress: it has not settled and waits on nothing. */
  get stalled(): boolean {
    return this.outcome === undefined && this.terminal === undefined && this.ops.size === 0;
  }

  /**
   * Applies one event; resolving events also let the workflow code run until it waits again. Whatever settles a
   * promise of workflow code runs inside a turn of the sandbox (`enter`): the code it wakes up runs there, within
   * the time limit, and the turn throws `WorkflowTimeoutError` when the code did not yield in time.
   */
  async apply(event: AppliedEvent): Promise<void> {
    if (this.rescinded && event.seq !== undefined && this.rescinded.has(event.seq)) return;
    this.now = event.createdAt;
    this.sandbox.setTime(event.createdAt);
    switch (event.type) {
      case "run_created":
        this.startedAtMs = event.createdAt;
        this.parent = parentLinkOf(event.data?.metadata);
        await this.sandbox.turn(() => this.begin(event.data!.input));
        return;
      case "run_started":
        this.runStartedLogged = true;
        return;
      case "hook_created": {
        this.hadHooks = true;
        const op = this.match(event);
        const hook = op.hook;
        if (hook?.conflictAwaited?.()) await this.sandbox.turn(() => hook.registered?.(undefined));
        else hook?.registered?.(undefined);
        return;
      }
      case "step_created":
      case "wait_created":
        this.match(event);
        return;
      case "hook_disposed":
        if (event.data && "conflictRunId" in event.data && event.data.conflictRunId !== undefined) {
          const holder = event.data.conflictRunId;
          await this.sandbox.turn(() => this.refuseHook(event, holder));
        } else this.match(event);
        return;
      case "hook_received": {
        const deliveryId = event.data?.deliveryId;
        if (deliveryId !== undefined) {
          // The same delivery recorded twice (two processes reported one child's end, a fast-path payload later
          // recorded through the world): applied once, in the position of its first record.
          if (this.deliveries.has(deliveryId)) return;
          this.deliveries.add(deliveryId);
        }
        for (const [childRunId, child] of this.children) {
          if (child.cid === event.correlationId) this.children.delete(childRunId);
        }
        const op = this.ops.get(event.correlationId!);
        if (op?.kind !== "hook" || !op.hook) return;
        const { channel } = op.hook;
        await this.sandbox.turn(() =>
          channel.deliver(deserialize(event.data!.payload, { realm: this.realm })),
        );
        return;
      }
      case "step_started": {
        const op = this.ops.get(event.correlationId!);
        if (op) {
          op.attempt = event.data!.attempt;
          op.started = true;
          op.retryAt = undefined;
          op.firstStartedAt ??= event.createdAt;
        }
        return;
      }
      case "step_retrying": {
        const op = this.ops.get(event.correlationId!);
        if (op) {
          op.attempt = event.data!.attempt;
          op.started = false;
          op.retryAt = event.data!.retryAt;
        }
        return;
      }
      case "step_completed":
      case "step_failed":
      case "wait_completed": {
        // A completion for an operation already settled is a duplicate: the first recorded result wins.
        const op = this.ops.get(event.correlationId!);
        if (!op?.logged) return;
        this.ops.delete(op.cid);
        await this.sandbox.turn(() => {
          if (event.type === "step_completed")
            op.resolve(deserialize(event.data!.output, { realm: this.realm }));
          else if (event.type === "step_failed")
            op.reject(deserializeError(event.data!.error, { realm: this.realm }));
          else op.resolve(undefined);
        });
        return;
      }
      case "run_completed":
      case "run_failed":
      case "run_cancelled":
        this.terminal = event.type;
        return;
      case "run_paused":
        this.paused = true;
        return;
      case "run_resumed":
        // The next executor records that it took the run up again (which clears the run's pickup wake-up).
        this.paused = false;
        this.runStartedLogged = false;
        return;
      case "run_retried": {
        // The failure this retry took back was skipped; the next executor records that it took the run up.
        this.runStartedLogged = false;
        for (const cid of event.data!.steps) {
          const op = this.ops.get(cid);
          if (op) op.attemptBase = op.attempt;
        }
        return;
      }
    }
  }

  /**
   * Takes back a `step_started` the live driver applied but never stored (a pause came first): the step is as it
   * was before, logged and not started, so it starts when the run is resumed.
   */
  revertStart(cid: string, attempt: number): void {
    const op = this.ops.get(cid);
    if (!op || op.attempt !== attempt) return;
    op.attempt = attempt - 1;
    op.started = false;
  }

  /** Whether the log (including what is about to be appended) already holds this delivery. */
  hasDelivery(deliveryId: string): boolean {
    return this.deliveries.has(deliveryId);
  }

  /**
   * Called with the events a fresh instance is about to replay: hook tokens are random, so a replayed
   * `createHook()` must hand out the token its first execution recorded.
   */
  preload(events: readonly AppliedEvent[]): void {
    const rescinded = rescindedSeqs(events);
    if (rescinded.size > 0) this.rescinded = rescinded;
    for (const event of events) {
      if (event.type === "hook_created" && event.correlationId && event.data) {
        this.recordedTokens.set(event.correlationId, event.data.token);
      }
    }
  }

  /**
   * Where a hook's token is taken within this run itself (another live hook of the code holds it). Tokens held
   * by other runs are the live driver's business (it asks the world before recording the hook).
   */
  tokenHolder(op: Operation): string | undefined {
    const holder = op.hook ? this.liveTokens.get(op.hook.token) : undefined;
    return holder !== undefined && holder !== op.cid ? holder : undefined;
  }

  /** The log says the hook could not be created: its token was taken (`hook_disposed { conflictRunId }`). */
  private refuseHook(event: AppliedEvent & { type: "hook_disposed" }, holderRunId: string): void {
    const op = this.requested[0];
    if (op?.kind !== "hook" || op.cid !== event.correlationId) {
      this.match({ ...event, data: undefined });
      return;
    }
    this.requested.shift();
    op.logged = true;
    this.ops.delete(op.cid);
    if (this.liveTokens.get(op.hook!.token) === op.cid) this.liveTokens.delete(op.hook!.token);
    op.hook!.refused = true;
    op.hook!.channel.fail(this.toSandboxError(new HookConflictError(op.hook!.token, holderRunId)));
    op.hook!.registered?.(holderRunId);
  }

  private begin(input: string): void {
    const args = deserialize(input, { realm: this.realm });
    const list = Array.isArray(args) ? args : [args];
    let result: unknown;
    try {
      result = this.workflow.apply(undefined, list);
    } catch (error) {
      this.settle({ ok: false, error });
      return;
    }
    // Observed by reactions of the realm, so that the outcome is known at the end of the turn that settles it.
    this.kit.settle(
      result,
      (value) => this.settle({ ok: true, value }),
      (error) => this.settle({ ok: false, error }),
    );
  }

  private settle(outcome: Outcome): void {
    if (this.outcome) return;
    this.outcome = outcome;
    if (!outcome.ok) {
      this.outcomeEvent = { type: "run_failed", data: { error: recordError(outcome.error) } };
      return;
    }
    try {
      const output = serialize(outcome.value, { path: "workflow return value" });
      this.outcomeEvent = { type: "run_completed", data: { output } };
    } catch (error) {
      this.outcomeEvent = { type: "run_failed", data: { error: recordError(error) } };
    }
  }

  private match(
    event: AppliedEvent & { type: "step_created" | "wait_created" | "hook_created" | "hook_disposed" },
  ): Operation {
    const kind = KIND_OF[event.type];
    const name =
      event.type === "step_created"
        ? event.data!.stepName
        : event.type === "hook_created"
          ? (event.data?.kind ?? "hook")
          : kind === "wait"
            ? "sleep"
            : "dispose";
    const seq = event.seq ?? 0;
    const recorded = () => describe(kind, name, event.correlationId ?? "?");
    const op = this.requested.shift();
    if (!op) {
      throw new ReplayDivergenceError(
        `The log records ${recorded()} at seq ${seq}, but after replaying the events before it the workflow code ` +
          `requested no further operation (${this.outcome ? "it has already returned" : "it is waiting on something else"}).`,
        seq,
      );
    }
    // A step recorded under its earlier ID (before WDK's scheme) is the same step (legacy-ids.ts).
    const sameName = op.name === name || (kind === "step" && sameFunctionId(name, op.name));
    if (op.cid !== event.correlationId || op.kind !== kind || !sameName) {
      throw new ReplayDivergenceError(
        `The workflow code called ${describe(op.kind, op.name, op.cid)} where the log records ${recorded()} at seq ${seq}.`,
        seq,
      );
    }
    op.logged = true;
    if (event.type === "wait_created") op.resumeAt = event.data!.resumeAt;
    return op;
  }

  /** `createHook()` / `createWebhook()` inside the sandbox: the hook object workflow code holds. */
  createHook(
    opts: { token?: unknown; metadata?: unknown } | undefined,
    kind: "hook" | "webhook",
    options?: unknown,
    url?: (token: string) => string,
  ): Record<string | symbol, unknown> {
    const api = kind === "hook" ? "createHook()" : "createWebhook()";
    const tokenProblem = opts?.token === undefined ? undefined : hookTokenProblem(opts.token);
    if (tokenProblem) {
      throw this.toSandboxError(new TypeError(`${api}: the token cannot be used: ${tokenProblem}.`));
    }
    let metadata: string | undefined;
    try {
      if (opts?.metadata !== undefined) metadata = serialize(opts.metadata, { path: `${api} metadata` });
    } catch (error) {
      throw this.toSandboxError(error);
    }
    const cid = correlationId("hook", ++this.counter);
    this.lastHookCid = cid;
    const custom = typeof opts?.token === "string";
    const token = custom ? (opts!.token as string) : (this.recordedTokens.get(cid) ?? newHookToken());
    const SandboxError = this.realm.Error as ErrorConstructor;
    const kit = this.kit;
    const channel = new HookChannel(
      this.realm.Promise as PromiseConstructor,
      () => new SandboxError(`The hook "${token}" was disposed; no further payload will arrive.`),
      (value, done) => kit.object({ value, done }),
    );
    const op: Operation = {
      cid,
      kind: "hook",
      name: kind,
      logged: false,
      attempt: 0,
      started: false,
      hook: { token, custom, kind, metadata, options, channel },
      resolve: ignore,
      reject: ignore,
    };
    if (!this.terminal) {
      this.ops.set(cid, op);
      this.requested.push(op);
      if (!this.liveTokens.has(token)) this.liveTokens.set(token, cid);
    }
    const dispose = () => {
      if (channel.isDisposed) return;
      channel.end();
      if (this.ops.get(cid) === op) this.ops.delete(cid);
      if (this.liveTokens.get(token) === cid) this.liveTokens.delete(token);
      if (this.terminal || op.hook!.refused) return;
      this.requested.push({ ...op, kind: "dispose", name: "dispose", hook: undefined, logged: false });
    };
    // `hook.getConflict()`: settles once the log records the hook (null) or its refusal ({ runId } of the holder).
    let registration: { holder: string | undefined } | undefined;
    const waiting: Array<(value: unknown) => void> = [];
    const conflictOf = (holder: string | undefined) =>
      holder === undefined ? null : kit.object({ runId: holder });
    op.hook!.registered = (holder) => {
      registration = { holder };
      for (const resolve of waiting.splice(0)) resolve(conflictOf(holder));
    };
    op.hook!.conflictAwaited = () => waiting.length > 0;
    const SandboxPromise = this.realm.Promise as PromiseConstructor;
    const getConflict = () =>
      registration
        ? SandboxPromise.resolve(conflictOf(registration.holder))
        : new SandboxPromise((resolve) => waiting.push(resolve));
    // Realm objects with realm functions (kit.object): what workflow code holds must lead nowhere in the host.
    const iterator = kit.object({
      next: () => channel.take("iterate"),
      return: (value?: unknown) => channel.finished(value),
      [Symbol.asyncIterator](this: unknown) {
        return this;
      },
    });
    return kit.object({
      token,
      ...(url ? { url: url(token) } : {}),
      // biome-ignore lint/suspicious/noThenProperty: a hook is a thenable by design (`await hook` gives the next payload).
      then: (onFulfilled?: (v: unknown) => unknown, onRejected?: (e: unknown) => unknown) =>
        channel.take("await").then(onFulfilled, onRejected),
      dispose,
      getConflict,
      // `using hook = createHook()` disposes the hook when the block ends.
      [Symbol.dispose]: dispose,
      [Symbol.asyncIterator]: () => iterator,
    });
  }

  /** `globalThis[Symbol.for("wfkit.useStep")]` inside the sandbox: it returns a realm function. */
  private readonly useStep = (stepId: string, closure?: () => Record<string, unknown>) => {
    const instance = this;
    return this.kit.guard(function stepProxy(this: unknown, ...args: unknown[]): Promise<unknown> {
      return instance.requestStep(stepId, args, closure, this === instance.realm ? undefined : this);
    }, "stepProxy");
  };

  private requestStep(
    stepId: string,
    args: unknown[],
    closure?: () => Record<string, unknown>,
    self?: unknown,
  ): Promise<unknown> {
    const SandboxPromise = this.realm.Promise as PromiseConstructor;
    if (this.terminal) return new SandboxPromise(() => {});
    let input: string;
    try {
      const value: StepInput = closure ? { args, closure: closure() } : { args };
      if (self !== undefined && self !== null) value.self = self;
      try {
        input = serialize(value, { path: `${stepId} input` });
      } catch (error) {
        // A plain step called as a method of an object that holds functions (`tools.lookup()`): its
        // `this` is incidental, so it is left behind; an instance-method step needs its instance.
        if (value.self === undefined || isInstanceMethodStep(stepId)) throw error;
        delete value.self;
        input = serialize(value, { path: `${stepId} input` });
      }
    } catch (error) {
      return SandboxPromise.reject(this.toSandboxError(error));
    }
    return this.request("step", stepId, { input });
  }

  private requestWait(duration: unknown): Promise<void> {
    const SandboxPromise = this.realm.Promise as PromiseConstructor;
    if (this.terminal) return new SandboxPromise(() => {});
    let resumeAt: number;
    try {
      resumeAt = isDate(duration)
        ? duration.getTime()
        : this.now + parseDuration(duration as number | string, "sleep()");
      if (!Number.isFinite(resumeAt)) throw new TypeError("sleep(): the Date given is invalid.");
    } catch (error) {
      return SandboxPromise.reject(this.toSandboxError(error));
    }
    return this.request("wait", "sleep", { resumeAt }) as Promise<void>;
  }

  private request(kind: OperationKind, name: string, extra: Partial<Operation>): Promise<unknown> {
    const SandboxPromise = this.realm.Promise as PromiseConstructor;
    const cid = correlationId(kind, ++this.counter);
    const promise = new SandboxPromise((resolve, reject) => {
      const op: Operation = {
        cid,
        kind,
        name,
        logged: false,
        attempt: 0,
        started: false,
        resolve,
        reject,
        ...extra,
      };
      this.ops.set(cid, op);
      this.requested.push(op);
    });
    // Marked handled up front: code that starts a step and awaits it later still gets the rejection, but
    // Node does not report it as unhandled in between (sandbox-rejections.ts covers the other cases).
    promise.then(undefined, ignore);
    return promise;
  }

  /**
   * `start()` in workflow code: a child run, recorded in this run's log as a hook that receives the child's outcome
   * (token `wfchild_<child run ID>`) and the built-in step that creates the child (idempotently: a replay or a
   * retry of the step after a crash finds the child and goes on). The child's ID derives from this run's, so every
   * replay starts the same child.
   */
  private startChild(workflowId: unknown, args: unknown, opts: unknown): Promise<unknown> {
    const SandboxPromise = this.realm.Promise as PromiseConstructor;
    const options = (opts ?? {}) as { runId?: unknown; parentClosePolicy?: unknown };
    const policy = options.parentClosePolicy ?? "cancel";
    const problem =
      typeof workflowId !== "string" || workflowId.length === 0
        ? "the workflow must be a workflow function or its ID"
        : !Array.isArray(args)
          ? "args must be an array of the child's arguments"
          : policy !== "cancel" && policy !== "abandon"
            ? `parentClosePolicy must be "cancel" or "abandon", got ${String(policy)}`
            : options.runId !== undefined &&
                (typeof options.runId !== "string" || !/^[A-Za-z0-9_-]{1,160}$/.test(options.runId))
              ? "runId must be 1-160 characters of A-Z a-z 0-9 _ -"
              : undefined;
    if (problem) return SandboxPromise.reject(this.toSandboxError(new TypeError(`start(): ${problem}.`)));
    const childRunId = (options.runId as string | undefined) ?? `${this.runId}_c${++this.childCounter}`;
    const token = `${CHILD_TOKEN_PREFIX}${childRunId}`;
    const hook = this.createHook({ token }, "hook");
    const cid = this.lastHookCid;
    this.children.set(childRunId, { cid, policy: policy as "cancel" | "abandon" });
    const started = this.requestStep(START_CHILD_STEP, [
      { workflowId, args, runId: childRunId, token, parentClosePolicy: policy },
    ]);
    const outcome = (payload: unknown) => {
      const p = payload as { status?: string; output?: string; error?: string; reason?: string };
      if (p.status === "completed") return deserialize(p.output ?? "", { realm: this.realm });
      const error =
        p.status === "cancelled"
          ? new WorkflowRunCancelledError(childRunId, p.reason)
          : new WorkflowRunFailedError(childRunId, deserializeError(p.error ?? "", {}));
      throw this.toSandboxError(error);
    };
    // Reactions are realm functions (kit.guard), so they run in the realm's microtask queue, within the turn that
    // settles the hook; a host function there would run in the host's queue, after the turn has ended.
    const kit = this.kit;
    const returnValue = (hook.then as (f: (v: unknown) => unknown) => Promise<unknown>)(
      kit.guard(outcome, "childOutcome"),
    );
    returnValue.then(undefined, kit.guard(ignore, "ignore"));
    const handle = kit.object({ runId: childRunId, returnValue });
    return started.then(kit.guard(() => handle, "childHandle"));
  }

  /**
   * [events] `waitForEvent(name, { key, timeout })`: a hook whose token names the event (`event-tokens.ts`), so every
   * `emit()` of it finds this run, raced against a sleep when there is a timeout. Whichever settles first disposes
   * the hook; a timer left behind by an event that came first wakes the run once and changes nothing.
   */
  private waitForEvent(name: unknown, opts: unknown): Promise<unknown> {
    const SandboxPromise = this.realm.Promise as PromiseConstructor;
    const o = (opts ?? {}) as { key?: unknown; timeout?: unknown };
    let timeoutMs: number | undefined;
    try {
      const problem =
        eventNameProblem(name, "the event name") ??
        (o.key !== undefined ? eventNameProblem(o.key, "the key") : undefined);
      if (problem) throw new TypeError(`waitForEvent(name, { key, timeout }): ${problem}.`);
      if (o.timeout !== undefined)
        timeoutMs = parseDuration(o.timeout as string | number, "waitForEvent() timeout");
    } catch (error) {
      return SandboxPromise.reject(this.toSandboxError(error));
    }
    const eventName = name as string;
    const key = o.key as string | undefined;
    const hook = this.createHook(
      { token: eventWaitToken(eventName, key, this.runId, ++this.eventWaits) },
      "hook",
    );
    const dispose = hook.dispose as () => void;
    const kit = this.kit;
    let settled = false;
    const received = (hook.then as (f: (v: unknown) => unknown) => Promise<unknown>)(
      kit.guard((event: unknown) => {
        settled = true;
        dispose();
        return event;
      }, "eventReceived"),
    );
    if (timeoutMs === undefined) return received;
    received.then(undefined, kit.guard(ignore, "ignore"));
    const limit = timeoutMs;
    const timedOut = this.requestWait(limit).then(
      kit.guard(() => {
        if (settled) return new SandboxPromise(() => {}); // the event came first: this timer means nothing
        settled = true;
        dispose();
        throw this.toSandboxError(new EventTimeoutError(eventName, limit, key));
      }, "eventTimeout"),
    );
    return SandboxPromise.race([received, timedOut]);
  }

  /** [events] `emit()` in workflow code: the built-in emit step, with an event ID derived from the run. */
  private emitEvent(name: unknown, data: unknown, opts: unknown): Promise<unknown> {
    const SandboxPromise = this.realm.Promise as PromiseConstructor;
    const o = (opts ?? {}) as { key?: unknown; id?: unknown };
    const problem =
      eventNameProblem(name, "the event name") ??
      (o.key !== undefined ? eventNameProblem(o.key, "the key") : undefined) ??
      (o.id !== undefined ? eventNameProblem(o.id, "the event id") : undefined);
    if (problem) {
      return SandboxPromise.reject(
        this.toSandboxError(new TypeError(`emit(name, data, { key, id }): ${problem}.`)),
      );
    }
    const id = (o.id as string | undefined) ?? `wevt_${this.runId}_${++this.emits}`;
    return this.requestStep(EMIT_STEP, [{ name, data, id, ...(o.key !== undefined ? { key: o.key } : {}) }]);
  }

  /** The child runs whose outcome this run still waits for, with the hook that receives it. */
  pendingChildren(): { runId: string; cid: string; policy: "cancel" | "abandon" }[] {
    return [...this.children].map(([runId, child]) => ({ runId, ...child }));
  }

  /**
   * Answers a query (`setQueryHandler`) from the state the code is in now, in a turn of its own: arguments come in
   * serialized and the answer goes out serialized, so nothing of the host reaches the handler and nothing of the
   * realm leaves it. Throws `QueryNotFoundError` for a name the code never registered.
   */
  query(name: string, args: string): string {
    const handler = this.queries.get(name);
    if (!handler) throw new QueryNotFoundError(this.runId, name, [...this.queries.keys()]);
    return this.sandbox.enter(() => {
      const list = deserialize(args, { realm: this.realm }) as unknown[];
      const value = handler.apply(undefined, list);
      if (typeof (value as { then?: unknown } | null)?.then === "function") {
        throw new TypeError(
          `The query handler "${name}" returned a promise; query handlers answer synchronously.`,
        );
      }
      return serialize(value, { path: `query "${name}" result` });
    });
  }

  private toSandboxError(error: unknown): Error {
    return deserializeError(serializeError(error), { realm: this.realm });
  }

  private replayAwareConsole(): Partial<Console> {
    const quiet: Record<string, unknown> = {};
    const host = console as unknown as Record<string, unknown>;
    for (const key of Object.keys(host)) {
      const method = host[key];
      if (typeof method !== "function") continue;
      quiet[key] = (...args: unknown[]) => {
        if (!this.replaying) return (method as (...a: unknown[]) => unknown).apply(console, args);
      };
    }
    return quiet as Partial<Console>;
  }

  /** `globalThis[Symbol.for("wfkit.runtime")]` inside the sandbox. */
  private runtimeApi() {
    return {
      sleep: (duration: unknown) => this.requestWait(duration),
      createHook: (opts?: { token?: unknown; metadata?: unknown }) => this.createHook(opts, "hook"),
      createWebhook: (opts?: { token?: unknown; respondWith?: unknown }) => {
        try {
          checkRespondWith(opts?.respondWith);
        } catch (error) {
          throw this.toSandboxError(error);
        }
        return this.createHook(opts, "webhook", { respondWith: opts?.respondWith }, webhookUrl);
      },
      fetch: (...args: unknown[]) => this.requestStep(FETCH_STEP, args),
      getWritable: (opts?: { namespace?: unknown }) => {
        const name = opts?.namespace ?? DEFAULT_STREAM;
        if (typeof name !== "string" || name.length === 0) {
          throw this.toSandboxError(new TypeError("getWritable(): namespace must be a non-empty string."));
        }
        return streamHandle({ runId: this.runId, name, kind: "writable" }, this.realm);
      },
      resumeHook: () => {
        throw new (this.realm.Error as ErrorConstructor)(
          "resumeHook() delivers a payload from outside a run (application code, a request handler). Workflow " +
            'code cannot call it directly: call it inside a "use step" function.',
        );
      },
      getStepMetadata: () => {
        throw new (this.realm.Error as ErrorConstructor)(
          'getStepMetadata() can only be called inside a "use step" function; workflow code has no step metadata.',
        );
      },
      startChild: (workflowId: unknown, args: unknown, opts: unknown) =>
        this.startChild(workflowId, args, opts),
      waitForEvent: (name: unknown, opts: unknown) => this.waitForEvent(name, opts),
      emit: (name: unknown, data: unknown, opts: unknown) => this.emitEvent(name, data, opts),
      setQueryHandler: (name: unknown, handler: unknown) => {
        if (typeof name !== "string" || name.length === 0 || typeof handler !== "function") {
          throw this.toSandboxError(
            new TypeError(
              "setQueryHandler(name, handler): name must be a non-empty string and handler a function.",
            ),
          );
        }
        this.queries.set(name, handler as (...args: unknown[]) => unknown);
      },
      getWorkflowMetadata: () =>
        this.kit.object({
          workflowRunId: this.runId,
          workflowName: this.workflowName,
          workflowStartedAt: new (this.realm.Date as DateConstructor)(this.startedAtMs),
          url: workflowBaseUrl(),
        }),
    };
  }
}

const KIND_OF = {
  step_created: "step",
  wait_created: "wait",
  hook_created: "hook",
  hook_disposed: "dispose",
} as const;

function describe(kind: Operation["kind"], name: string, cid: string): string {
  if (kind === "step") return `step "${name}" (${cid})`;
  if (kind === "wait") return `sleep (${cid})`;
  if (kind === "hook") return `${name === "webhook" ? "createWebhook()" : "createHook()"} (${cid})`;
  return `hook.dispose() of ${cid}`;
}

function ignore(): void {}

/** Hook tokens of the hooks through which child runs report their outcome to their parent. */
export const CHILD_TOKEN_PREFIX = "wfchild_";

interface ChildRecord {
  cid: string;
  policy: "cancel" | "abandon";
}

/** Where a child run reports its end: `run_created.data.metadata.parent`. */
export interface ParentLink {
  runId: string;
  token: string;
  parentClosePolicy: "cancel" | "abandon";
}

function parentLinkOf(metadata: unknown): ParentLink | undefined {
  const parent = (metadata as { parent?: Partial<ParentLink> } | undefined)?.parent;
  return parent && typeof parent.runId === "string" && typeof parent.token === "string"
    ? { runId: parent.runId, token: parent.token, parentClosePolicy: parent.parentClosePolicy ?? "cancel" }
    : undefined;
}

function isDate(value: unknown): value is Date {
  return Object.prototype.toString.call(value) === "[object Date]";
}
