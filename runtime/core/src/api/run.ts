/**
 * `Run`: application code's handle on a run. Like WDK's, its properties are promise-returning getters that
 * read the world each time, so a handle never shows stale data and costs nothing until used.
 */
import { type RunRecord, type RunStatus, TERMINAL_RUN_STATUSES } from "@wfkit/world";
import type { Engine } from "../engine/engine.js";
import {
  DEFAULT_STREAM,
  streamReducer,
  type WorkflowReadableStream,
  type WorkflowReadableStreamOptions,
  worldReadable,
} from "../engine/streams.js";
import { createReadToken } from "../handlers/durable-streams/read-token.js";
import {
  WorkflowRunCancelledError,
  WorkflowRunFailedError,
  WorkflowRunNotFoundError,
} from "../sandbox/run-errors.js";
import { deserialize, deserializeError } from "../serialization/index.js";
import {
  callOrder,
  type EventInfo,
  eventInfo,
  type RunInfo,
  runInfo,
  type StepInfo,
  stepInfo,
} from "./run-info.js";

/** What `run.wakeUp()` stops: the sleeps with these correlation IDs (see `listWaits`), or every pending one. */
export interface StopSleepOptions {
  correlationIds?: string[];
}

export interface StopSleepResult {
  /** How many pending sleeps were completed. */
  stoppedCount: number;
}

export class Run<R = unknown> {
  constructor(
    readonly runId: string,
    private readonly engine: Engine,
  ) {}

  /** Whether the run exists (`status` and the other getters reject with `WorkflowRunNotFoundError` when not). */
  get exists(): Promise<boolean> {
    if (!isPossibleRunId(this.runId)) return Promise.resolve(false);
    return this.engine
      .world()
      .then((world) => world.getRun(this.runId))
      .then((record) => record !== undefined && record !== null);
  }

  /**
   * [addition] A token that lets a browser read this run's live state and output (`useRun` of `workflow/react`,
   * `/.well-known/workflow/v1/streams/runs/<runId>/…`) and nothing else. Signed with `WORKFLOW_STREAMS_SECRET`;
   * throws `MissingStreamsSecretError` when it is not set. `createReadToken(runId, { expiresInSeconds })` of
   * `workflow/runtime` makes one that expires.
   */
  get readToken(): string {
    return createReadToken(this.runId);
  }

  get status(): Promise<RunStatus> {
    return this.record().then((r) => r.status);
  }

  get workflowName(): Promise<string> {
    return this.record().then((r) => r.workflowName);
  }

  get createdAt(): Promise<Date> {
    return this.record().then((r) => new Date(r.createdAt));
  }

  get startedAt(): Promise<Date | undefined> {
    return this.record().then((r) => (r.startedAt === undefined ? undefined : new Date(r.startedAt)));
  }

  get completedAt(): Promise<Date | undefined> {
    return this.record().then((r) => (r.completedAt === undefined ? undefined : new Date(r.completedAt)));
  }

  /**
   * The workflow's return value once the run ends; rejects with `WorkflowRunFailedError` (the workflow's
   * error as `cause`) or `WorkflowRunCancelledError`. Notified through `world.subscribe`, never polled.
   */
  get returnValue(): Promise<R> {
    return this.waitForEnd().then((record) => outcomeOf<R>(record, this.engine));
  }

  /** The run's default output stream, from its first chunk (`getReadable()`). */
  get readable(): WorkflowReadableStream<unknown> {
    return this.getReadable();
  }

  /**
   * A run's output stream (`getWritable({ namespace })` in its code) from `startIndex` (default 0; negative: that
   * many chunks before the end): it follows new chunks live and closes when the writer closes the stream, or
   * fails with the writer's error. After a disconnect, call again with the number of chunks already received as
   * `startIndex`: nothing is lost or repeated. `getTailIndex()` gives the index of the last chunk written so far.
   */
  getReadable<T = unknown>(opts: WorkflowReadableStreamOptions = {}): WorkflowReadableStream<T> {
    return worldReadable(() => this.engine.world(), this.runId, opts.namespace ?? DEFAULT_STREAM, {
      startIndex: opts.startIndex,
    }) as WorkflowReadableStream<T>;
  }

  /** The run's record with its input, output or error decoded for reading (see `RunInfo`). */
  async info(): Promise<RunInfo> {
    return runInfo(await this.record());
  }

  /** The run's steps in call order, with inputs, outputs and errors decoded for reading (no user code runs). */
  async steps(): Promise<StepInfo[]> {
    await this.record();
    const world = await this.engine.world();
    return (await world.listSteps(this.runId)).sort((a, b) => callOrder(a.stepId, b.stepId)).map(stepInfo);
  }

  /** The run's event log in order, with stored values decoded for reading. `afterSeq` skips what you have. */
  async events(opts: { afterSeq?: number; limit?: number } = {}): Promise<EventInfo[]> {
    await this.record();
    const world = await this.engine.world();
    return (await world.readEvents(this.runId, opts)).map(eventInfo);
  }

  /**
   * Completes the run's pending `sleep()` calls now (those whose correlation IDs are given, or all), e.g. to skip a
   * wait in a test or from an operator's UI; the run continues at once. `stoppedCount` is how many were stopped.
   * The calling process must be able to execute the run (it has the workflow's code): the sleeps end inside the
   * live instance, so the run's executor is never raced by an append from outside.
   */
  async wakeUp(opts: StopSleepOptions = {}): Promise<StopSleepResult> {
    if (!isPossibleRunId(this.runId)) throw new WorkflowRunNotFoundError(String(this.runId));
    if (opts.correlationIds !== undefined && !Array.isArray(opts.correlationIds)) {
      throw new TypeError(
        `run.wakeUp({ correlationIds }): correlationIds must be an array of sleep correlation IDs, got ${typeof opts.correlationIds}.`,
      );
    }
    return this.engine.wakeUp(this.runId, opts.correlationIds);
  }

  /** Ends the run as cancelled; steps running now finish but their results are discarded. */
  async cancel(opts: { reason?: string } = {}): Promise<void> {
    const found = isPossibleRunId(this.runId) && (await this.engine.cancel(this.runId, opts.reason));
    if (!found) throw new WorkflowRunNotFoundError(this.runId);
  }

  /**
   * Re-drives a failed run from the step failures it did not survive; every completed step keeps its result and
   * the re-driven steps get their full retry budget. Rejects with `RunNotRetryableError` unless the run failed.
   * Resolves once the retry is recorded (await `returnValue` for the outcome).
   */
  async retry(opts: { reason?: string } = {}): Promise<void> {
    await this.engine.retryRun(this.runId, opts);
  }

  /**
   * A new run of the same workflow and input that reuses this run's recorded results up to `fromStep` (a step's
   * correlation ID such as `step_0003`, or a step ID for its first call) and executes from there; without
   * `fromStep`, from where this run stopped. This run is left as it is.
   */
  async fork(opts: { fromStep?: string } = {}): Promise<Run<R>> {
    return new Run<R>(await this.engine.forkRun(this.runId, opts), this.engine);
  }

  /**
   * Pauses the run: it starts no step and fires no wake-up (sleeps that come due wait) until `resume()`; steps
   * already running finish and are recorded. `status` is then `"paused"`.
   */
  async pause(opts: { reason?: string } = {}): Promise<void> {
    if (!isPossibleRunId(this.runId)) throw new WorkflowRunNotFoundError(String(this.runId));
    await this.engine.pauseRun(this.runId, opts);
  }

  /** Continues a paused run exactly where it stopped. */
  async resume(): Promise<void> {
    if (!isPossibleRunId(this.runId)) throw new WorkflowRunNotFoundError(String(this.runId));
    await this.engine.resumeRun(this.runId);
  }

  /**
   * Asks the run's workflow code a question (`setQueryHandler(name, handler)` in workflow code) and returns the
   * answer, read from the run's recorded state: this process's live instance at the log head, or a replay of the
   * log (nothing is recorded or executed). Needs the workflow's code in this process. A name the code never
   * registered rejects with `QueryNotFoundError`.
   */
  async query<T = unknown>(name: string, ...args: unknown[]): Promise<T> {
    if (!isPossibleRunId(this.runId)) throw new WorkflowRunNotFoundError(String(this.runId));
    return (await this.engine.queryRun(this.runId, name, args)) as T;
  }

  /** `fork({ fromStep: toStep })` after cancelling this run with the new run's ID as the reason. */
  async rewind(opts: { toStep: string }): Promise<Run<R>> {
    return new Run<R>(await this.engine.rewindRun(this.runId, opts), this.engine);
  }

  private async record(): Promise<RunRecord> {
    if (!isPossibleRunId(this.runId)) throw new WorkflowRunNotFoundError(String(this.runId));
    const world = await this.engine.world();
    const record = await world.getRun(this.runId);
    if (!record) throw new WorkflowRunNotFoundError(this.runId);
    return record;
  }

  private async waitForEnd(): Promise<RunRecord> {
    if (!isPossibleRunId(this.runId)) throw new WorkflowRunNotFoundError(String(this.runId));
    const world = await this.engine.world();
    const release = this.engine.retain(this.runId);
    // Awaiting a run's end keeps this process alive until it ends, even while another process drives it.
    const keepAlive = setInterval(() => {}, 2 ** 30);
    return new Promise<RunRecord>((resolve, reject) => {
      let settled = false;
      let checking = false;
      let recheck = false;
      const unsubscribe = world.subscribe((n) => {
        if (TERMINAL_RUN_STATUSES.includes(n.status) || n.kind === "finished") void check();
      }, this.runId);
      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        unsubscribe();
        release();
        clearInterval(keepAlive);
        fn();
      };
      // Reads the row (the notification only says that something happened); coalesces overlapping reads.
      const check = async (): Promise<void> => {
        if (checking) {
          recheck = true;
          return;
        }
        checking = true;
        try {
          do {
            recheck = false;
            const record = await world.getRun(this.runId);
            if (!record) return finish(() => reject(new WorkflowRunNotFoundError(this.runId)));
            if (TERMINAL_RUN_STATUSES.includes(record.status)) return finish(() => resolve(record));
          } while (recheck && !settled);
        } catch (error) {
          finish(() => reject(error));
        } finally {
          checking = false;
        }
      };
      void check();
    });
  }
}

function outcomeOf<R>(record: RunRecord, engine: Engine): R {
  if (record.status === "completed") {
    // A stream in the result reads from this engine's world.
    const reducers = [streamReducer({ world: () => engine.world() })];
    return deserialize(record.output ?? "", { reducers }) as R;
  }
  if (record.status === "cancelled") throw new WorkflowRunCancelledError(record.runId, record.cancelReason);
  throw new WorkflowRunFailedError(record.runId, deserializeError(record.error ?? ""));
}

/** Run IDs are 1-200 characters without NUL; anything else names no run (and some worlds cannot store it). */
export function isPossibleRunId(runId: unknown): runId is string {
  return typeof runId === "string" && runId.length > 0 && runId.length <= 200 && !runId.includes("\u0000");
}
