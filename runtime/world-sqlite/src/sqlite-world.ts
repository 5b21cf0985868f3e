/**
 * The SQLite world: runs in one database file in WAL mode, shared by any number of processes on one machine.
 *
 * - An append is one `BEGIN IMMEDIATE` transaction: read the run row, check lease (fencing), end of run, head
 *   (`expectedSeq`) and hook tokens, apply the batch to the run's state with the shared materialiser
 *   (`@wfkit/world`), write the events, the rows the batch touched, the deliveries it consumed and a change row,
 *   commit. SQLite has one writer at a time, so everything the checks read holds until the commit.
 * - Leases are columns of the run row with a fencing token; wake-ups the indexed `wake_at` column.
 * - Notifications: this instance's writes reach its subscribers right after commit; other processes' writes
 *   arrive through the change feed (change-feed.ts).
 */
import { resolve } from "node:path";
import {
  type AbandonedRun,
  AppendConflictError,
  type AppendOptions,
  type AppendResult,
  applyEvents,
  type CreateRunInput,
  checkAppendable,
  checkBatchShape,
  checkDelivery,
  checkFlowGateId,
  checkHookTokens,
  consumedDeliveryIds,
  createRunState,
  type Delivery,
  type DeliveryRun,
  type DueRun,
  decodeCursor,
  encodeCursor,
  type FlowGateRecord,
  type FlowGateUpdate,
  type FlowGateWorld,
  type HookRecord,
  isTerminalStatus,
  type Lease,
  LeaseLostError,
  type ListRunsQuery,
  materialize,
  type NewDelivery,
  type NewEvent,
  Notifier,
  newRunId,
  type Page,
  pageSize,
  RunFinishedError,
  RunNotFoundError,
  type RunNotification,
  type RunRecord,
  type RunState,
  RunStateCache,
  type RunStatus,
  type StepRecord,
  StoredTasksAndStreams,
  type StreamInfo,
  stampEvents,
  type TokenHolder,
  touchedIds,
  type WaitRecord,
  type WorkflowEvent,
  type World,
  WorldError,
} from "@wfkit/world";
import type Database from "better-sqlite3";
import type { Change } from "./change-feed.js";
import { Connection } from "./connection.js";
import { acquire, fences, holds, type LeaseColumns, leaseOf, slotOf } from "./leases.js";
import { type EventRow, eventData, eventFromRow, runFromRow, runRecordJson } from "./rows.js";
import { SqliteSchedules } from "./schedules.js";
import { SqliteStepTasks, TASK_TOPIC } from "./step-tasks.js";
import { SqliteStreams, STREAM_TOPIC } from "./streams.js";

export interface SqliteWorldOptions {
  /** The database file. Default: `$WORKFLOW_SQLITE_PATH`, else `<cwd>/.workflow-data/workflow.db`. */
  path?: string;
  /**
   * SQLite `synchronous` in WAL mode. "normal" (default): a commit is written to the WAL but not fsynced, so it
   * survives the crash of any process (the OS has it) but a power loss or kernel crash may lose the last
   * commits (never corrupt the file). "full": the WAL is fsynced at every commit, so a returned write survives a
   * power loss too, at the cost of an fsync per write.
   */
  synchronous?: "normal" | "full";
  /**
   * How long (ms) a write waits, in total, for another process's write lock before failing with
   * `DATABASE_BUSY`. The wait is a loop of timers, so the event loop keeps running. Default 30,000.
   */
  busyWaitMs?: number;
  /**
   * SQLite's own `busy_timeout` (ms): how long a statement sleeps INSIDE SQLite, blocking the whole process,
   * before the retry loop above takes over. Default 0 (never block the event loop).
   */
  busyTimeoutMs?: number;
  /** Watch the bell file for other processes' changes (default true); without it they are heard at the poll. */
  watch?: boolean;
  /** How often to look for other processes' changes when no file event came (the safety net). Default 1,000. */
  pollIntervalMs?: number;
  /** How long change rows are kept for readers that fell behind (ms). Default 60,000. */
  changeRetentionMs?: number;
  /** Runs whose materialised state is kept in memory for appends without reading their log. Default 10,000. */
  stateCacheSize?: number;
}

export interface SqliteWorld extends World, FlowGateWorld {
  readonly name: "sqlite";
  /** The database file. */
  readonly path: string;
  /** How many statements found the database locked by another connection and were retried. */
  readonly busyRetries: number;
  /** Write transactions committed and the writes they carried (more writes than transactions: group commits). */
  readonly writeStats: { readonly transactions: number; readonly writes: number };
}

const RUN_TOPIC = "run";

export const DEFAULT_PATH = ".workflow-data/workflow.db";

export function defaultPath(env: Record<string, string | undefined> = process.env): string {
  return resolve(env.WORKFLOW_SQLITE_PATH || DEFAULT_PATH);
}

export async function createSqliteWorld(options: SqliteWorldOptions = {}): Promise<SqliteWorld> {
  const path = resolve(options.path ?? defaultPath());
  let world: SqliteWorldImpl | undefined;
  const connection = await Connection.open(
    {
      path,
      synchronous: options.synchronous ?? "normal",
      busyTimeoutMs: nonNegative("busyTimeoutMs", options.busyTimeoutMs ?? 0),
      busyWaitMs: nonNegative("busyWaitMs", options.busyWaitMs ?? 30_000),
      pollIntervalMs: positive("pollIntervalMs", options.pollIntervalMs ?? 1_000),
      changeRetentionMs: positive("changeRetentionMs", options.changeRetentionMs ?? 60_000),
      watch: options.watch !== false,
    },
    {
      onChanges: (changes) => world?.onChanges(changes),
      onGap: () => world?.onGap(),
    },
  );
  world = new SqliteWorldImpl(connection, options.stateCacheSize ?? 10_000);
  return world;
}

function nonNegative(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new WorldError(
      "INVALID_CONFIG",
      `${name} must be a number of milliseconds >= 0, got ${String(value)}.`,
    );
  }
  return value;
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new WorldError(
      "INVALID_CONFIG",
      `${name} must be a number of milliseconds > 0, got ${String(value)}.`,
    );
  }
  return value;
}

type RunHead = LeaseColumns & { status: RunStatus; last_seq: number };
type DeliveryRow = {
  run_id: string;
  delivery_id: string;
  correlation_id: string;
  payload: string;
  created_at: number;
};

class SqliteWorldImpl extends StoredTasksAndStreams implements SqliteWorld {
  readonly name = "sqlite" as const;
  readonly path: string;
  private readonly db: Database.Database;
  private readonly notifier = new Notifier();
  /** Runs with per-run subscribers, and how many (re-read after a gap in the change feed). */
  private readonly watched = new Map<string, number>();
  private readonly cache: RunStateCache;
  protected readonly streams: SqliteStreams;
  protected readonly stepTasks: SqliteStepTasks;
  private closed = false;
  private readonly q: ReturnType<typeof statements>;
  protected override readonly schedules: SqliteSchedules;
  private readonly listStatements = new Map<string, Database.Statement>();

  constructor(
    private readonly c: Connection,
    stateCacheSize: number,
  ) {
    super();
    this.db = c.db;
    this.path = c.path;
    this.cache = new RunStateCache(stateCacheSize);
    this.q = statements(c.db);
    this.streams = new SqliteStreams(c);
    this.stepTasks = new SqliteStepTasks(c);
    this.schedules = new SqliteSchedules(c);
  }

  get busyRetries(): number {
    return this.c.retry.stats.busy;
  }

  get writeStats(): { transactions: number; writes: number } {
    return { ...this.c.writeStats };
  }

  // ------------------------------------------------------------------ writes

  async createRun(input: CreateRunInput): Promise<AppendResult> {
    this.assertOpen();
    const now = Date.now();
    const runId = input.runId ?? newRunId(now);
    const data: {
      workflowName: string;
      input: string;
      deploymentId?: string;
      metadata?: Record<string, unknown>;
    } = { workflowName: input.workflowName, input: input.input };
    if (input.deploymentId !== undefined) data.deploymentId = input.deploymentId;
    if (input.metadata !== undefined) data.metadata = input.metadata;
    const events = stampEvents(runId, 0, [{ type: "run_created", data }], now);
    const state = createRunState(events[0]!);
    const { run } = state;
    const lease = await this.c.write(`Creating run ${runId}`, () => {
      const existing = this.q.head.get(runId) as RunHead | undefined;
      if (existing) throw new AppendConflictError(runId, 0, existing.last_seq);
      const taken = input.lease
        ? { owner: input.lease.owner, token: 1, expiresAt: Date.now() + input.lease.ttlMs, held: true }
        : undefined;
      this.q.insertRun.run(
        runId,
        run.workflowName,
        run.status,
        run.createdAt,
        run.lastSeq,
        run.input,
        runRecordJson(run),
        taken?.owner ?? null,
        taken ? 1 : 0,
        taken?.expiresAt ?? null,
        taken ? 1 : 0,
      );
      this.insertEvents(runId, events);
      this.recordRunChange(run, "created", now);
      return taken && leaseOf(runId, taken);
    });
    this.cache.set(state);
    const result: AppendResult = { events, run: { ...run }, ...(lease ? { lease } : {}) };
    this.notifyLocal(run, "created");
    return result;
  }

  async append(
    runId: string,
    expectedSeq: number,
    events: NewEvent[],
    opts?: AppendOptions,
  ): Promise<AppendResult> {
    this.assertOpen();
    checkBatchShape(runId, events, false);
    const lease = opts?.lease;
    let state: RunState | undefined;
    let finished = false;
    let stamped: WorkflowEvent[];
    try {
      stamped = await this.c.write(`Appending to run ${runId}`, () => {
        const head = this.q.head.get(runId) as RunHead | undefined;
        if (!head) throw new RunNotFoundError(runId);
        const now = Date.now();
        if (lease && (lease.runId !== runId || !fences(slotOf(head), lease, now))) {
          throw new LeaseLostError(lease.runId, lease.owner);
        }
        checkAppendable(runId, head.status, events);
        if (head.last_seq !== expectedSeq) throw new AppendConflictError(runId, expectedSeq, head.last_seq);
        state = this.stateAt(runId, head.last_seq);
        checkHookTokens(runId, events, (token) => this.q.tokenHolder.get(token) as TokenHolder | undefined);

        const batch = stampEvents(runId, expectedSeq, events, now);
        // From here the cached state runs ahead of the database until the commit; any failure drops it (below).
        const effects = applyEvents(state, batch);
        finished = effects.finished;
        this.insertEvents(runId, batch);
        this.writeRows(state, batch, effects.hooksReleased);
        const { run } = state;
        this.q.updateRun.run(
          run.status,
          finished ? 1 : 0,
          run.lastSeq,
          run.wakeAt ?? null,
          runRecordJson(run),
          runId,
        );
        // [flow control] A debounced run records the arguments it starts with in run_started: the row's input.
        if (batch.some((e) => e.type === "run_started" && typeof e.data?.input === "string")) {
          this.c.db.prepare("UPDATE runs SET input = ? WHERE run_id = ?").run(run.input, runId);
        }
        if (finished) this.q.forgetDeliveries.run(runId);
        else this.consumeDeliveries(runId, batch);
        this.recordRunChange(run, finished ? "finished" : "appended", now);
        return batch;
      });
    } catch (error) {
      this.cache.delete(runId);
      throw error;
    }
    const current = state!;
    this.cache.set(current);
    const result = { events: stamped, run: { ...current.run } };
    this.notifyLocal(current.run, finished ? "finished" : "appended");
    return result;
  }

  /**
   * The run's state at `lastSeq` (inside a write transaction): the cached one, caught up with the events another
   * process appended since, or rebuilt from the log with the shared materialiser.
   */
  private stateAt(runId: string, lastSeq: number): RunState {
    let state = this.cache.get(runId);
    if (state && state.run.lastSeq < lastSeq) {
      const missed = this.readEventRows(runId, state.run.lastSeq);
      applyEvents(state, missed);
    }
    if (!state || state.run.lastSeq !== lastSeq) {
      state = materialize(this.readEventRows(runId, 0));
      this.cache.set(state);
    }
    return state;
  }

  private readEventRows(runId: string, afterSeq: number): WorkflowEvent[] {
    return (this.q.eventsAfter.all(runId, afterSeq) as EventRow[]).map((r) => eventFromRow(runId, r));
  }

  private insertEvents(runId: string, events: readonly WorkflowEvent[]): void {
    for (const e of events) {
      this.q.insertEvent.run(runId, e.seq, e.type, e.correlationId ?? null, e.createdAt, eventData(e));
    }
  }

  /**
   * Upserts the steps, waits and hooks the batch touched: those its events name, and the hooks the run's end
   * released (the materialiser reports them). Hooks are written released-first, so that a batch that frees a token
   * and takes it again never trips the live-token index.
   */
  private writeRows(
    state: RunState,
    events: readonly WorkflowEvent[],
    released: readonly HookRecord[],
  ): void {
    const hooks = new Map<string, HookRecord>();
    for (const h of released) hooks.set(h.hookId, h);
    for (const id of touchedIds(events)) {
      const step = state.steps.get(id);
      if (step) this.q.upsertStep.run(step.runId, step.stepId, step.createdAt, JSON.stringify(step));
      const wait = state.waits.get(id);
      if (wait) this.q.upsertWait.run(wait.runId, wait.waitId, wait.createdAt, JSON.stringify(wait));
      const hook = state.hooks.get(id);
      if (hook) hooks.set(id, hook);
    }
    const ordered = [...hooks.values()].sort((a, b) =>
      a.status === b.status ? 0 : a.status === "disposed" ? -1 : 1,
    );
    for (const h of ordered) {
      this.q.upsertHook.run(
        h.runId,
        h.hookId,
        h.token,
        h.status === "active" ? 1 : 0,
        h.createdAt,
        JSON.stringify(h),
      );
    }
  }

  /**
   * Marks the deliveries the batch consumes. An ID that was never delivered (a payload the executor appended
   * directly) is remembered as consumed too, so that delivering it later is a duplicate.
   */
  private consumeDeliveries(runId: string, events: readonly WorkflowEvent[]): void {
    for (const id of consumedDeliveryIds(events)) this.q.consumeDelivery.run(runId, id);
  }

  private recordRunChange(run: RunRecord, kind: RunNotification["kind"], now: number): void {
    const n: RunNotification = { runId: run.runId, lastSeq: run.lastSeq, status: run.status, kind };
    this.c.feed.record(RUN_TOPIC, JSON.stringify(n), now);
  }

  // ------------------------------------------------------------------ reads

  async readEvents(
    runId: string,
    opts: { afterSeq?: number; limit?: number } = {},
  ): Promise<WorkflowEvent[]> {
    this.assertOpen();
    const after = Math.max(0, Math.floor(opts.afterSeq ?? 0));
    const limit = opts.limit === undefined ? -1 : Math.max(0, Math.floor(opts.limit));
    return this.c.snapshot(`Reading the events of run ${runId}`, () => {
      const rows = this.q.eventsPage.all(runId, after, limit) as EventRow[];
      if (rows.length === 0 && this.q.exists.get(runId) === undefined) throw new RunNotFoundError(runId);
      return rows.map((r) => eventFromRow(runId, r));
    });
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    this.assertOpen();
    const row = await this.c.read("Reading a run", () => this.q.run.get(runId) as RunRow | undefined);
    return row && runFromRow(row);
  }

  async listRuns(query: ListRunsQuery = {}): Promise<Page<RunRecord>> {
    this.assertOpen();
    const limit = pageSize(query.limit);
    const where: string[] = [];
    const values: unknown[] = [];
    let shape = "";
    if (query.status !== undefined) {
      const statuses = Array.isArray(query.status) ? query.status : [query.status];
      where.push(`status IN (${statuses.map(() => "?").join(", ")})`);
      values.push(...statuses);
      shape += `s${statuses.length}`;
    }
    if (query.workflowName !== undefined) {
      where.push("workflow_name = ?");
      values.push(query.workflowName);
      shape += "w";
    }
    if (query.cursor !== undefined) {
      const key = decodeCursor(query.cursor);
      where.push("(created_at, run_id) < (?, ?)");
      values.push(key.createdAt, key.runId);
      shape += "c";
    }
    let statement = this.listStatements.get(shape);
    if (!statement) {
      statement = this.db.prepare(
        `SELECT input, record FROM runs ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
         ORDER BY created_at DESC, run_id DESC LIMIT ?`,
      );
      this.listStatements.set(shape, statement);
    }
    const stmt = statement;
    const rows = await this.c.read("Listing runs", () => stmt.all(...values, limit + 1) as RunRow[]);
    const items = rows.slice(0, limit).map(runFromRow);
    if (rows.length <= limit) return { items };
    return { items, nextCursor: encodeCursor(items[items.length - 1]!) };
  }

  async listSteps(runId: string): Promise<StepRecord[]> {
    return this.children(runId, this.q.steps);
  }

  async getStep(runId: string, stepId: string): Promise<StepRecord | undefined> {
    this.assertOpen();
    const record = await this.c.read(
      "Reading a step",
      () => this.q.step.get(runId, stepId) as string | undefined,
    );
    return record === undefined ? undefined : (JSON.parse(record) as StepRecord);
  }

  async listWaits(runId: string): Promise<WaitRecord[]> {
    return this.children(runId, this.q.waits);
  }

  async listHooks(runId: string): Promise<HookRecord[]> {
    return this.children(runId, this.q.hooks);
  }

  private async children<T>(runId: string, statement: Database.Statement): Promise<T[]> {
    this.assertOpen();
    return this.c.snapshot(`Listing rows of run ${runId}`, () => {
      if (this.q.exists.get(runId) === undefined) throw new RunNotFoundError(runId);
      return (statement.all(runId) as string[]).map((r) => JSON.parse(r) as T);
    });
  }

  async getHookByToken(token: string): Promise<HookRecord | undefined> {
    this.assertOpen();
    const record = await this.c.read(
      "Looking up a hook token",
      () => this.q.hookByToken.get(token) as string | undefined,
    );
    return record === undefined ? undefined : (JSON.parse(record) as HookRecord);
  }

  // ------------------------------------------------------------------ leases

  async acquireLease(runId: string, owner: string, ttlMs: number): Promise<Lease | undefined> {
    this.assertOpen();
    return this.c.write(`Acquiring the lease of run ${runId}`, () => {
      const head = this.q.head.get(runId) as RunHead | undefined;
      if (!head) throw new RunNotFoundError(runId);
      const next = acquire(slotOf(head), owner, Math.max(0, ttlMs), Date.now());
      if (!next) return undefined;
      this.q.setLease.run(next.owner, next.token, next.expiresAt, 1, runId);
      return leaseOf(runId, next);
    });
  }

  async renewLease(lease: Lease, ttlMs: number): Promise<Lease | undefined> {
    this.assertOpen();
    return this.c.write(`Renewing the lease of run ${lease.runId}`, () => {
      const head = this.q.head.get(lease.runId) as RunHead | undefined;
      if (!head || !holds(slotOf(head), lease)) return undefined;
      const expiresAt = Date.now() + Math.max(0, ttlMs);
      this.q.setLease.run(lease.owner, lease.token, expiresAt, 1, lease.runId);
      return { runId: lease.runId, owner: lease.owner, token: lease.token, expiresAt };
    });
  }

  async releaseLease(lease: Lease): Promise<void> {
    this.assertOpen();
    await this.c.write(`Releasing the lease of run ${lease.runId}`, () => {
      this.q.releaseLease.run(lease.runId, lease.owner, lease.token);
    });
  }

  // ------------------------------------------------------------------ wake-ups and listing

  async listDue(now: number, limit = 100): Promise<DueRun[]> {
    this.assertOpen();
    const rows = await this.c.read(
      "Listing due runs",
      () => this.q.due.all(now, Math.max(0, Math.floor(limit))) as Array<{ run_id: string; wake_at: number }>,
    );
    return rows.map((r) => ({ runId: r.run_id, wakeAt: r.wake_at }));
  }

  async nextWakeAt(): Promise<number | undefined> {
    this.assertOpen();
    const t = await this.c.read("Reading the next wake-up", () => this.q.nextWake.get() as number | null);
    return t ?? undefined;
  }

  async listUnfinished(limit?: number, cursor?: string): Promise<Page<RunRecord>> {
    return this.listRuns({ status: ["pending", "running"], limit, cursor });
  }

  async listAbandoned(now: number, limit = 100): Promise<AbandonedRun[]> {
    this.assertOpen();
    const rows = await this.c.read(
      "Listing abandoned runs",
      () =>
        this.q.abandoned.all(now, Math.max(0, Math.floor(limit))) as Array<{
          run_id: string;
          lease_expires_at: number;
        }>,
    );
    return rows.map((r) => ({ runId: r.run_id, expiredAt: r.lease_expires_at }));
  }

  // ------------------------------------------------------------------ deliveries

  async deliver(runId: string, delivery: NewDelivery): Promise<{ delivery: Delivery; duplicate: boolean }> {
    this.assertOpen();
    checkDelivery(runId, delivery);
    const fresh: Delivery = {
      runId,
      deliveryId: delivery.deliveryId,
      event: {
        type: "hook_received",
        correlationId: delivery.event.correlationId,
        data: { payload: delivery.event.data.payload },
      },
      createdAt: Date.now(),
    };
    const outcome = await this.c.write(`Delivering an event to run ${runId}`, () => {
      const head = this.q.head.get(runId) as RunHead | undefined;
      if (!head) throw new RunNotFoundError(runId);
      if (isTerminalStatus(head.status)) throw new RunFinishedError(runId, head.status);
      const stored = this.q.delivery.get(runId, fresh.deliveryId) as
        | (DeliveryRow & { pending: number })
        | undefined;
      // A consumed ID answers with what the caller sent: the log holds the payload that counted.
      if (stored)
        return { delivery: stored.pending === 1 ? deliveryOf(stored) : fresh, duplicate: true, head };
      this.q.insertDelivery.run(
        runId,
        fresh.deliveryId,
        fresh.event.correlationId,
        fresh.event.data.payload,
        fresh.createdAt,
      );
      const run = { runId, lastSeq: head.last_seq, status: head.status };
      this.c.feed.record(RUN_TOPIC, JSON.stringify({ ...run, kind: "delivered" }), fresh.createdAt);
      return { delivery: fresh, duplicate: false, head };
    });
    if (!outcome.duplicate) {
      this.notifyLocal({ runId, lastSeq: outcome.head.last_seq, status: outcome.head.status }, "delivered");
    }
    return { delivery: outcome.delivery, duplicate: outcome.duplicate };
  }

  async listDeliveries(runId: string): Promise<Delivery[]> {
    this.assertOpen();
    return this.c.snapshot(`Listing the deliveries of run ${runId}`, () => {
      if (this.q.exists.get(runId) === undefined) throw new RunNotFoundError(runId);
      return (this.q.pendingDeliveries.all(runId) as DeliveryRow[]).map(deliveryOf);
    });
  }

  async listDeliveryRuns(before: number, limit = 100): Promise<DeliveryRun[]> {
    this.assertOpen();
    const rows = await this.c.read(
      "Listing runs with pending deliveries",
      () =>
        this.q.deliveryRuns.all(before, Math.max(0, Math.floor(limit))) as Array<{
          run_id: string;
          since: number;
        }>,
    );
    return rows.map((r) => ({ runId: r.run_id, since: r.since }));
  }

  // ------------------------------------------------------------------ notifications

  subscribe(listener: (n: RunNotification) => void, runId?: string): () => void {
    this.c.feed.start();
    const off = this.notifier.subscribe(listener, runId);
    if (runId === undefined) return off;
    this.watched.set(runId, (this.watched.get(runId) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      off();
      const n = (this.watched.get(runId) ?? 1) - 1;
      if (n <= 0) this.watched.delete(runId);
      else this.watched.set(runId, n);
    };
  }

  private notifyLocal(
    run: Pick<RunRecord, "runId" | "lastSeq" | "status">,
    kind: RunNotification["kind"],
  ): void {
    this.notifier.notify({ runId: run.runId, lastSeq: run.lastSeq, status: run.status, kind });
  }

  /** Rows of the change feed written by other processes (or other world instances in this one). */
  onChanges(changes: Change[]): void {
    if (this.closed) return;
    for (const change of changes) {
      try {
        if (change.topic === RUN_TOPIC) {
          const n = JSON.parse(change.payload) as RunNotification;
          // Our cached state of that run is now behind; the next append catches it up from the log.
          this.notifier.notify({ runId: n.runId, lastSeq: n.lastSeq, status: n.status, kind: n.kind });
        } else if (change.topic === STREAM_TOPIC) {
          this.streams.deliverRemote(change.payload);
        } else if (change.topic === TASK_TOPIC) {
          this.stepTasks.deliverRemote(change.payload);
        }
      } catch (error) {
        console.error(`[wfkit/world-sqlite] could not deliver change ${change.id} (${change.topic}).`, error);
      }
    }
  }

  /**
   * The change feed lost rows this instance had not read (it was frozen past their retention): tell each per-run
   * subscriber where its run is now, call every stream subscriber, and wake claimers. Subscribers to all runs
   * (executors) keep their own sweep, as on Postgres after a LISTEN gap.
   */
  onGap(): void {
    if (this.closed) return;
    this.streams.resync();
    this.stepTasks.resync();
    for (const runId of [...this.watched.keys()]) {
      let row: RunHead | undefined;
      try {
        row = this.q.head.get(runId) as RunHead | undefined;
      } catch {
        continue; // busy: the subscriber's own safety net (its poll) covers this run
      }
      if (!row) continue;
      const run = { runId, lastSeq: row.last_seq, status: row.status };
      this.notifyLocal(run, isTerminalStatus(row.status) ? "finished" : "appended");
    }
  }

  // ------------------------------------------------------------------ streams (see streams.ts)
  // writeStream and readStream, and the step task methods, are `StoredTasksAndStreams` (@wfkit/world).

  async listStreams(runId: string): Promise<StreamInfo[]> {
    this.assertOpen();
    return this.streams.list(runId);
  }

  subscribeStream(runId: string, name: string, listener: () => void): () => void {
    return this.streams.subscribe(runId, name, listener);
  }

  // ------------------------------------------------------------------ schedules and events [addition]
  // The methods that only ask the store are `StoredSchedules` (@wfkit/world), which this class extends.

  override async listHooksByTokenPrefix(prefix: string, limit?: number): Promise<HookRecord[]> {
    this.assertOpen();
    return this.schedules.hooksByTokenPrefix(prefix, limit);
  }

  // ------------------------------------------------------------------ plumbing

  // ------------------------------------------------------------------ flow gates

  async readFlowGate(gateId: string): Promise<FlowGateRecord | undefined> {
    this.assertOpen();
    checkFlowGateId(gateId);
    const row = await this.c.read(`Reading flow gate ${gateId}`, () => this.flowGateRow(gateId));
    return row ? { gateId, state: row.state, version: row.version, updatedAt: row.updated_at } : undefined;
  }

  private flowGateRow(gateId: string) {
    return this.c.db
      .prepare("SELECT state, version, updated_at FROM flow_gates WHERE gate_id = ?")
      .get(gateId) as { state: string; version: number; updated_at: number } | undefined;
  }

  /** Read, compute and write in one `BEGIN IMMEDIATE` transaction: SQLite's write lock serialises the processes. */
  async updateFlowGate<T>(gateId: string, update: FlowGateUpdate<T>): Promise<T> {
    this.assertOpen();
    checkFlowGateId(gateId);
    return this.c.write(`Updating flow gate ${gateId}`, () => {
      const current = this.flowGateRow(gateId);
      const next = update(current?.state);
      if (next.state === current?.state) return next.result;
      if (next.state === undefined) this.c.db.prepare("DELETE FROM flow_gates WHERE gate_id = ?").run(gateId);
      else
        this.c.db
          .prepare(
            `INSERT INTO flow_gates (gate_id, state, version, updated_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (gate_id) DO UPDATE SET state = excluded.state, version = excluded.version,
               updated_at = excluded.updated_at`,
          )
          .run(gateId, next.state, (current?.version ?? 0) + 1, Date.now());
      return next.result;
    });
  }

  async listFlowGates(limit = 1_000): Promise<string[]> {
    this.assertOpen();
    return this.c.read("Listing flow gates", () =>
      this.c.db.prepare("SELECT gate_id FROM flow_gates ORDER BY gate_id LIMIT ?").pluck().all(limit),
    ) as Promise<string[]>;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.notifier.clear();
    this.watched.clear();
    this.streams.clear();
    this.stepTasks.clear();
    this.cache.clear();
    this.c.close();
  }

  protected override assertOpen(): void {
    if (this.closed) {
      throw new WorldError(
        "WORLD_CLOSED",
        "This SQLite world was closed; create a new one with createSqliteWorld().",
      );
    }
  }
}

type RunRow = { input: string; record: string };

function deliveryOf(row: DeliveryRow): Delivery {
  return {
    runId: row.run_id,
    deliveryId: row.delivery_id,
    event: { type: "hook_received", correlationId: row.correlation_id, data: { payload: row.payload } },
    createdAt: row.created_at,
  };
}

/** Every statement the world runs, prepared once per connection. */
function statements(db: Database.Database) {
  return {
    exists: db.prepare("SELECT 1 FROM runs WHERE run_id = ?").pluck(),
    head: db.prepare(
      `SELECT status, last_seq, lease_owner, lease_token, lease_expires_at, lease_held FROM runs WHERE run_id = ?`,
    ),
    run: db.prepare("SELECT input, record FROM runs WHERE run_id = ?"),
    insertRun: db.prepare(
      `INSERT INTO runs (run_id, workflow_name, status, created_at, last_seq, input, record,
         lease_owner, lease_token, lease_expires_at, lease_held) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    updateRun: db.prepare(
      "UPDATE runs SET status = ?, finished = ?, last_seq = ?, wake_at = ?, record = ? WHERE run_id = ?",
    ),
    insertEvent: db.prepare(
      "INSERT INTO events (run_id, seq, type, correlation_id, created_at, data) VALUES (?, ?, ?, ?, ?, ?)",
    ),
    eventsAfter: db.prepare(
      "SELECT seq, type, correlation_id, created_at, data FROM events WHERE run_id = ? AND seq > ? ORDER BY seq",
    ),
    eventsPage: db.prepare(
      `SELECT seq, type, correlation_id, created_at, data FROM events WHERE run_id = ? AND seq > ?
       ORDER BY seq LIMIT ?`,
    ),
    upsertStep: db.prepare(
      `INSERT INTO steps (run_id, step_id, created_at, record) VALUES (?, ?, ?, ?)
       ON CONFLICT (run_id, step_id) DO UPDATE SET record = excluded.record`,
    ),
    upsertWait: db.prepare(
      `INSERT INTO waits (run_id, wait_id, created_at, record) VALUES (?, ?, ?, ?)
       ON CONFLICT (run_id, wait_id) DO UPDATE SET record = excluded.record`,
    ),
    upsertHook: db.prepare(
      `INSERT INTO hooks (run_id, hook_id, token, active, created_at, record) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (run_id, hook_id) DO UPDATE SET active = excluded.active, record = excluded.record`,
    ),
    steps: db.prepare("SELECT record FROM steps WHERE run_id = ? ORDER BY created_at, step_id").pluck(),
    step: db.prepare("SELECT record FROM steps WHERE run_id = ? AND step_id = ?").pluck(),
    waits: db.prepare("SELECT record FROM waits WHERE run_id = ? ORDER BY created_at, wait_id").pluck(),
    hooks: db.prepare("SELECT record FROM hooks WHERE run_id = ? ORDER BY created_at, hook_id").pluck(),
    hookByToken: db.prepare("SELECT record FROM hooks WHERE token = ? AND active = 1").pluck(),
    tokenHolder: db.prepare(
      "SELECT run_id AS runId, hook_id AS hookId FROM hooks WHERE token = ? AND active = 1",
    ),
    setLease: db.prepare(
      "UPDATE runs SET lease_owner = ?, lease_token = ?, lease_expires_at = ?, lease_held = ? WHERE run_id = ?",
    ),
    releaseLease: db.prepare(
      `UPDATE runs SET lease_held = 0
       WHERE run_id = ? AND lease_held = 1 AND lease_owner = ? AND lease_token = ?`,
    ),
    due: db.prepare(
      `SELECT run_id, wake_at FROM runs WHERE wake_at IS NOT NULL AND finished = 0 AND wake_at <= ?
       ORDER BY wake_at, run_id LIMIT ?`,
    ),
    nextWake: db.prepare("SELECT min(wake_at) FROM runs WHERE wake_at IS NOT NULL AND finished = 0").pluck(),
    abandoned: db.prepare(
      `SELECT run_id, lease_expires_at FROM runs WHERE lease_held = 1 AND finished = 0 AND lease_expires_at <= ?
       ORDER BY lease_expires_at, run_id LIMIT ?`,
    ),
    delivery: db.prepare(
      `SELECT run_id, delivery_id, correlation_id, payload, created_at, pending FROM deliveries
       WHERE run_id = ? AND delivery_id = ?`,
    ),
    insertDelivery: db.prepare(
      `INSERT INTO deliveries (run_id, delivery_id, correlation_id, payload, created_at, pending)
       VALUES (?, ?, ?, ?, ?, 1)`,
    ),
    consumeDelivery: db.prepare(
      `INSERT INTO deliveries (run_id, delivery_id, correlation_id, payload, created_at, pending)
       VALUES (?, ?, '', '', 0, 0) ON CONFLICT (run_id, delivery_id) DO UPDATE SET pending = 0`,
    ),
    forgetDeliveries: db.prepare("DELETE FROM deliveries WHERE run_id = ?"),
    pendingDeliveries: db.prepare(
      `SELECT run_id, delivery_id, correlation_id, payload, created_at FROM deliveries
       WHERE run_id = ? AND pending = 1 ORDER BY id`,
    ),
    deliveryRuns: db.prepare(
      `SELECT d.run_id, min(d.created_at) AS since FROM deliveries d JOIN runs r ON r.run_id = d.run_id
       WHERE d.pending = 1 AND r.finished = 0
       GROUP BY d.run_id HAVING since <= ? ORDER BY since, d.run_id LIMIT ?`,
    ),
  };
}
