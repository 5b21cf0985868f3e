/**
 * The Postgres world: runs shared by any number of processes on any number of machines through one
 * PostgreSQL database.
 *
 * - Appends are one round trip: the batch is applied to the run's cached state with the shared
 *   materialiser (`@wfkit/world`), and the events plus the resulting rows go to the server-side function
 *   `append_events`, which locks the run row, checks lease, end and head, writes everything and
 *   `pg_notify`s in one transaction (see migrations.ts).
 * - Leases are columns of the run row with a fencing token, judged by the database's clock.
 * - Wake-ups are the indexed `wake_at` column of the run row (`listDue`, `nextWakeAt`, `claimDue`).
 * - Notifications: appends through this instance reach its subscribers right after commit; other
 *   instances' appends arrive through one LISTEN connection per world.
 * - Deliveries (hook payloads from outside a run) are rows of their own, recorded without the run's lease and
 *   consumed by the executor's append in its transaction (migration 5).
 * - Strings with NUL, which Postgres text cannot hold, are stored encoded (text-codec.ts).
 */

import {
  type AbandonedRun,
  AppendConflictError,
  type AppendOptions,
  type AppendResult,
  applyEvents,
  type CreateRunInput,
  canAppend,
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
  HookTokenConflictError,
  isTerminalStatus,
  KeyedMutex,
  type Lease,
  LeaseLostError,
  type ListRunsQuery,
  type LoadedRun,
  lostAppend,
  type NewDelivery,
  type NewEvent,
  newRunId,
  type Page,
  pageSize,
  RunFinishedError,
  RunNotFoundError,
  type RunNotification,
  type RunRecord,
  RunStateCache,
  type RunStatus,
  refusal,
  type StepRecord,
  StoredTasksAndStreams,
  type StreamInfo,
  sameEvent,
  stampEvents,
  stateFromRows,
  updateByCompareAndSet,
  type WaitRecord,
  type WorkflowEvent,
  type World,
  WorldError,
} from "@wfkit/world";
import pg from "pg";
import { type AppendOutcome, type CreateOutcome, touchedRows } from "./append-batch.js";
import { ChannelListener } from "./channel-listener.js";
import type { GroupStats } from "./group-commit.js";
import { type AppendParams, appendCalls, type CreateParams, createCalls, runReads } from "./grouped-calls.js";
import { checkKey } from "./keys.js";
import { currentVersion, LATEST_VERSION, migrateWith } from "./migrations.js";
import {
  cannotConnect,
  connectionLost,
  isConnectionError,
  isCutOff,
  isUniqueViolation,
  retryWhenCutOff,
} from "./pg-errors.js";
import {
  deliveryFromRow,
  eventFromRow,
  eventToRow,
  hookFromRow,
  leaseFromRow,
  runFromRow,
  runToRow,
  stepFromRow,
  waitFromRow,
} from "./rows.js";
import { RunNotifications } from "./run-notifications.js";
import { PgSchedules } from "./schedules.js";
import { channelOf, checkSchemaName, DEFAULT_SCHEMA, quoted } from "./schema-name.js";
import { PgStepTasks } from "./step-tasks.js";
import { PgStreams } from "./streams.js";
import { TextSafeClient, toJson, worldTypes } from "./text-codec.js";

export interface PostgresWorldOptions {
  /** Connection string. Default: `$WORKFLOW_POSTGRES_URL`. */
  url?: string;
  /** Schema holding the tables (created by the migrations). Default "workflow". */
  schema?: string;
  /** Connections in the pool (the LISTEN connection comes on top). Default 10. */
  poolSize?: number;
  /** Run pending migrations on start. Default true; when false, a schema that is behind is an error. */
  migrate?: boolean;
  /** Runs whose materialised state is kept in memory for appends without a read. Default 10,000. */
  stateCacheSize?: number;
  /**
   * Postgres `synchronous_commit` for this world's sessions. "on" (default): an append returns once its
   * commit is flushed to disk. "off": it returns before the flush, much faster on slow disks; a crash of
   * the database server (not of a worker) can then lose the last fraction of a second of appends, never
   * leave a torn one.
   */
  synchronousCommit?: "on" | "off";
  /** Open the LISTEN connection (default true). Without it only this instance's own appends notify. */
  listen?: boolean;
  /** `application_name` of the connections, shown in `pg_stat_activity`. Default "wfkit-world". */
  applicationName?: string;
}

/** A lease taken by `claimDue`, with the wake-up that made the run due. */
export interface ClaimedRun extends Lease {
  wakeAt: number;
}

export interface PostgresWorld extends World, FlowGateWorld {
  readonly name: "postgres";
  readonly schema: string;
  /**
   * Takes the leases of up to `limit` (default 100) runs that are due at `now` (wake-up at or before it)
   * and not leased by anyone else, in one statement with `FOR UPDATE SKIP LOCKED`, so many workers can
   * claim concurrently without blocking on or double-claiming each other's runs. Earliest wake-up first.
   * Not part of the World interface: the Postgres workers use it.
   */
  claimDue(now: number, owner: string, ttlMs: number, limit?: number): Promise<ClaimedRun[]>;
  /** How many calls the grouped appends, creations and run reads took, and how many items rode in batches. */
  readonly groupedCalls: Record<"appends" | "creates" | "runReads", GroupStats>;
}

const DEFAULT_POOL_SIZE = 10;
const DEFAULT_STATE_CACHE = 10_000;

export async function createPostgresWorld(options: PostgresWorldOptions = {}): Promise<PostgresWorld> {
  const url = options.url ?? process.env.WORKFLOW_POSTGRES_URL;
  if (!url) {
    throw new WorldError(
      "MISSING_DATABASE_URL",
      "The Postgres world needs a database: set WORKFLOW_POSTGRES_URL (postgres://user:pass@host:5432/db) " +
        "or pass { url } to createPostgresWorld().",
    );
  }
  const schema = checkSchemaName(options.schema ?? DEFAULT_SCHEMA);
  const clientConfig: pg.ClientConfig = {
    connectionString: url,
    types: worldTypes,
    application_name: options.applicationName ?? "wfkit-world",
  };
  if (options.synchronousCommit === "off") clientConfig.options = "-c synchronous_commit=off";
  const poolSize = Math.max(1, Math.floor(options.poolSize ?? DEFAULT_POOL_SIZE));
  // A session the server ends while the world opens (a restart, a failover, pg_terminate_backend) leaves
  // nothing half-done (migrations are transactional), so opening simply starts over.
  return retryWhenCutOff(url, "the world was opening", () =>
    openWorld(url, schema, poolSize, clientConfig, options),
  );
}

async function openWorld(
  url: string,
  schema: string,
  poolSize: number,
  clientConfig: pg.ClientConfig,
  options: PostgresWorldOptions,
): Promise<PgWorld> {
  // Idle connections do not hold the process open (an app whose runs have ended exits, as on the local world).
  const pool = new pg.Pool({ ...clientConfig, Client: TextSafeClient, max: poolSize, allowExitOnIdle: true });
  // A connection the server closes (restart, failover, pg_terminate_backend) emits 'error', which crashes the
  // process if nobody listens. The pool listens while a connection is idle (reported here; it drops the
  // connection and the next query opens a new one) and `pool.query` while one runs a query; a connection checked
  // out with `pool.connect()` has neither until its holder attaches one, and the server's message can arrive in
  // the same read as the one that completes the connect, before any holder runs. So every connection listens
  // from birth; the query in flight (or the next) fails with the same error, and the pool discards the
  // connection when it comes back.
  pool.on("error", () => {});
  pool.on("connect", (client) => client.on("error", () => {}));
  let world: PgWorld | undefined;
  try {
    await withClient(pool, url, async (client) => {
      if (options.migrate !== false) {
        await migrateWith(client, schema);
        return;
      }
      const version = await currentVersion(client, schema);
      if (version < LATEST_VERSION) {
        throw new WorldError(
          "SCHEMA_OUTDATED",
          `Postgres schema "${schema}" is at version ${version}, this world needs ${LATEST_VERSION}. ` +
            `Run \`wf postgres migrate --schema ${schema}\` or create the world with migrate: true.`,
        );
      }
    });
    world = new PgWorld(pool, schema, poolSize, options.stateCacheSize ?? DEFAULT_STATE_CACHE);
    if (options.listen !== false) await world.startListening(clientConfig);
    return world;
  } catch (error) {
    await (world ? world.close() : pool.end()).catch(() => {});
    throw error;
  }
}

/** Runs `fn` on a connection checked out of the pool (which must outlive one query: migrations). */
async function withClient<T>(
  pool: pg.Pool,
  url: string,
  fn: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect().catch((error: unknown) => {
    throw isCutOff(error) ? error : cannotConnect(url, error);
  });
  let broken: unknown;
  try {
    return await fn(client);
  } catch (error) {
    if (isConnectionError(error)) broken = error;
    throw error;
  } finally {
    client.release(broken as Error | undefined);
  }
}

type Row = Record<string, unknown>;

class PgWorld extends StoredTasksAndStreams implements PostgresWorld {
  readonly name = "postgres" as const;
  private readonly s: string;
  private readonly notifications = new RunNotifications();
  private readonly cache: RunStateCache;
  get groupedCalls(): Record<"appends" | "creates" | "runReads", GroupStats> {
    return { appends: this.appends.stats, creates: this.creates.stats, runReads: this.runReads.stats };
  }
  private readonly appends: ReturnType<typeof appendCalls>;
  private readonly creates: ReturnType<typeof createCalls>;
  private readonly runReads: ReturnType<typeof runReads>;
  /** Run → token of the lease its ending append freed, so the holder's releaseLease needs no round trip. */
  private readonly leasesFreedByEnd = new Map<string, number>();
  private readonly mutex = new KeyedMutex();
  private listener: ChannelListener | undefined;
  private closed = false;
  protected readonly streams: PgStreams;
  protected readonly stepTasks: PgStepTasks;
  protected override readonly schedules: PgSchedules;

  constructor(
    private readonly pool: pg.Pool,
    readonly schema: string,
    private readonly poolSize: number,
    stateCacheSize: number,
  ) {
    super();
    this.s = quoted(schema);
    this.cache = new RunStateCache(stateCacheSize);
    this.appends = appendCalls(pool, this.s, poolSize);
    this.creates = createCalls(pool, this.s, poolSize);
    this.runReads = runReads(pool, this.s, poolSize);
    this.streams = new PgStreams({
      pool,
      s: this.s,
      origin: this.notifications.origin,
      retries: poolSize,
      read: (q) => this.read(q),
      isClosed: () => this.closed,
    });
    this.schedules = new PgSchedules((q) => this.read(q), this.s);
    this.stepTasks = new PgStepTasks({
      s: this.s,
      channel: channelOf(schema),
      origin: this.notifications.origin,
      read: (q) => this.read(q),
      claim: (q) => this.claimQuery(q),
    });
  }

  async startListening(config: pg.ClientConfig): Promise<void> {
    this.listener = new ChannelListener({
      client: config,
      channel: channelOf(this.schema),
      onMessage: (payload) => this.onNotification(payload),
      onReconnect: () => {
        this.streams.resync();
        this.stepTasks.resync();
        void this.resyncWatched();
      },
      onError: () => {}, // a lost LISTEN connection is expected to come back; nothing to report
    });
    await this.listener.start();
  }

  // ------------------------------------------------------------------ writes

  async createRun(input: CreateRunInput): Promise<AppendResult> {
    this.assertOpen();
    const now = Date.now();
    const runId = input.runId ?? newRunId(now);
    checkKey("INVALID_RUN_ID", "Run ID", runId, "(createRun)");
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
    const leased = input.lease;
    const outcome = await this.sendCreate(
      {
        runId,
        rowJson: toJson(runToRow(state.run)),
        eventsJson: toJson(events.map(eventToRow)),
        notify: this.notifications.payload(state.run, "created"),
        ...(leased ? { lease: leased } : {}),
      },
      events[0]!,
    );
    if (!outcome.created) {
      const existing = await this.getRun(runId);
      throw new AppendConflictError(runId, 0, existing?.lastSeq ?? 0);
    }
    this.cache.set(state);
    // After a lost connection the lease is unknown (`lease_token` absent): the caller then acquires it.
    const lease =
      leased && outcome.lease_token != null
        ? leaseFromRow(runId, { lease_owner: leased.owner, ...outcome })
        : undefined;
    const result = { events, run: { ...state.run }, ...(lease ? { lease } : {}) };
    this.notifications.deliverLocal(state.run, "created");
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
    for (const e of events) {
      if (e.type === "hook_created" && typeof e.data?.token === "string") {
        checkKey("INVALID_TOKEN", "Hook token", e.data.token, `(hook ${e.correlationId} of run ${runId})`);
      }
    }
    const lease = opts?.lease;
    if (lease && lease.runId !== runId) throw new LeaseLostError(lease.runId, lease.owner);
    return this.mutex.run(runId, () => this.appendLocked(runId, expectedSeq, events, lease));
  }

  private async appendLocked(
    runId: string,
    expectedSeq: number,
    events: NewEvent[],
    lease: Lease | undefined,
  ): Promise<AppendResult> {
    let state = this.cache.get(runId);
    if (state && state.run.lastSeq < expectedSeq) {
      // Another process appended since: apply just its events, as a replay would (cost independent of
      // the run's length).
      state = await this.cache.catchUp(state, (id, afterSeq) => this.readEvents(id, { afterSeq }));
    }
    if (!state || state.run.lastSeq !== expectedSeq || !canAppend(state.run.status, events)) {
      // Not cached, or the append will be refused: read the run (and its lease) once to say why.
      const loaded = await this.loadState(runId);
      const refused = refusal(runId, expectedSeq, loaded, lease, events);
      if (refused) throw refused;
      state = loaded.state;
    }
    const current = state;
    checkHookTokens(runId, events, (token) => {
      for (const h of current.hooks.values()) {
        if (h.status === "active" && h.token === token) return { runId, hookId: h.hookId };
      }
      return undefined;
    });

    const stamped = stampEvents(runId, expectedSeq, events, Date.now());
    const consumed = consumedDeliveryIds(stamped);
    // From here the cached state is ahead of the database until the call succeeds; any failure drops it.
    this.cache.delete(runId);
    const effects = applyEvents(state, stamped);
    const kind = effects.finished ? "finished" : "appended";
    const params: AppendParams = [
      runId,
      expectedSeq,
      lease?.owner ?? null,
      lease?.token ?? null,
      toJson(touchedRows(state, stamped, effects.hooksReleased)),
      toJson(stamped.map(eventToRow)),
      this.notifications.payload(state.run, kind),
      consumed.length > 0 || effects.finished ? consumed : null,
    ];
    let outcome: AppendOutcome | undefined;
    try {
      outcome = await this.sendAppend(params, runId, expectedSeq, stamped);
    } catch (error) {
      throw await this.appendFailure(error, runId, expectedSeq, events);
    }
    switch (outcome?.code) {
      case "ok":
        break;
      case "not_found":
        throw new RunNotFoundError(runId);
      case "lease_lost":
        throw new LeaseLostError(runId, lease?.owner ?? "");
      case "finished":
        throw new RunFinishedError(runId, outcome.run_status ?? "completed");
      case "conflict":
        throw new AppendConflictError(runId, expectedSeq, outcome.actual_seq ?? 0);
      default:
        throw new WorldError(
          "UNEXPECTED",
          `append_events answered "${String(outcome?.code)}" for run ${runId}.`,
        );
    }
    this.cache.set(state);
    if (effects.finished && lease) {
      this.leasesFreedByEnd.set(runId, lease.token);
      // Executors release right after the end; the bound only matters for one that never does.
      if (this.leasesFreedByEnd.size > 4096) this.leasesFreedByEnd.clear();
    }
    const result = { events: stamped, run: { ...state.run } };
    this.notifications.deliverLocal(state.run, kind);
    return result;
  }

  /** Sends a createRun; after a broken connection, the stored `run_created` tells whether it committed. */
  private async sendCreate(params: CreateParams, created: WorkflowEvent): Promise<CreateOutcome> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.creates.send(params);
      } catch (error) {
        if (!isConnectionError(error) || this.closed || attempt > this.poolSize) {
          throw isConnectionError(error)
            ? new WorldError(
                "CONNECTION_LOST",
                `The connection to Postgres broke while creating run ${created.runId}; it may or may not ` +
                  "exist now. Check with getRun before creating it again.",
              )
            : error;
        }
        const stored = await this.readEvents(created.runId, { limit: 1 }).catch((e: unknown) => {
          if (e instanceof RunNotFoundError) return [];
          throw e;
        });
        if (stored.length === 0) continue;
        return { created: sameEvent(stored[0]!, created) };
      }
    }
  }

  /**
   * Sends the append. When the connection breaks meanwhile it is unknown whether the append committed
   * (a pooled connection the server closed since its last use fails this way before anything is sent),
   * so the log answers: our exact events after `expectedSeq` mean it committed; nothing after it means it
   * did not, and it is sent again on another connection; anything else means another writer came first.
   */
  private async sendAppend(
    params: AppendParams,
    runId: string,
    expectedSeq: number,
    stamped: WorkflowEvent[],
  ): Promise<AppendOutcome | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.appends.send(params);
      } catch (error) {
        if (!isConnectionError(error) || this.closed || attempt > this.poolSize) throw error;
        const lost = await lostAppend(this, runId, expectedSeq, stamped);
        if (lost.kind === "absent") continue;
        if (lost.kind === "stored") {
          return { code: "ok", actual_seq: stamped[stamped.length - 1]!.seq, run_status: null };
        }
        return { code: "conflict", actual_seq: lost.actualSeq, run_status: null };
      }
    }
  }

  /** Turns a failed append call into the error the contract names. */
  private async appendFailure(
    error: unknown,
    runId: string,
    expectedSeq: number,
    events: NewEvent[],
  ): Promise<unknown> {
    if (isUniqueViolation(error, "hooks_live_token")) {
      const tokens = events.flatMap((e) => (e.type === "hook_created" && e.data ? [e.data.token] : []));
      const res = await this.pool
        .query<{ token: string; run_id: string }>(
          `SELECT token, run_id FROM ${this.s}.hooks WHERE status = 'active' AND token = ANY($1)`,
          [tokens],
        )
        .catch(() => ({ rows: [] as { token: string; run_id: string }[] }));
      const holder = res.rows.find((r) => r.run_id !== runId) ?? res.rows[0];
      return new HookTokenConflictError(holder?.token ?? tokens[0] ?? "", holder?.run_id ?? "(another run)");
    }
    if (isUniqueViolation(error, "events_pkey")) {
      const run = await this.getRun(runId).catch(() => undefined);
      return new AppendConflictError(runId, expectedSeq, run?.lastSeq ?? expectedSeq + 1);
    }
    if (isConnectionError(error)) {
      return new WorldError(
        "CONNECTION_LOST",
        `The connection to Postgres broke during an append to run ${runId}; the append may or may not ` +
          "have been committed. Re-read the run (getRun/readEvents) before appending again.",
      );
    }
    return error;
  }

  /** The run's full materialised state plus what an append must check, in one round trip. */
  private async loadState(runId: string): Promise<LoadedRun> {
    const s = this.s;
    const res = await this.read<Row>({
      name: "load_state",
      text: `SELECT r.*, ${s}.now_ms() AS db_now,
        (SELECT coalesce(json_agg(x), '[]') FROM ${s}.steps x WHERE x.run_id = r.run_id) AS steps,
        (SELECT coalesce(json_agg(x), '[]') FROM ${s}.waits x WHERE x.run_id = r.run_id) AS waits,
        (SELECT coalesce(json_agg(x), '[]') FROM ${s}.hooks x WHERE x.run_id = r.run_id) AS hooks
        FROM ${s}.runs r WHERE r.run_id = $1`,
      values: [runId],
    });
    const row = res.rows[0];
    if (!row) throw new RunNotFoundError(runId);
    const state = stateFromRows(
      runFromRow(row),
      (row.steps as Row[]).map(stepFromRow),
      (row.waits as Row[]).map(waitFromRow),
      (row.hooks as Row[]).map(hookFromRow),
    );
    return {
      state,
      serverNow: Number(row.db_now),
      lease: {
        held: row.lease_held === true,
        owner: row.lease_owner as string | null,
        token: Number(row.lease_token),
        expiresAt: row.lease_expires_at === null ? 0 : Number(row.lease_expires_at),
      },
    };
  }

  // ------------------------------------------------------------------ reads

  async readEvents(
    runId: string,
    opts: { afterSeq?: number; limit?: number } = {},
  ): Promise<WorkflowEvent[]> {
    this.assertOpen();
    const limit = opts.limit === undefined ? null : Math.max(0, Math.floor(opts.limit));
    const res = await this.read<Row>({
      name: "read_events",
      text: `SELECT e.seq, e.type, e.correlation_id, e.data, e.created_at
        FROM ${this.s}.runs r
        LEFT JOIN LATERAL (
          SELECT * FROM ${this.s}.events x WHERE x.run_id = r.run_id AND x.seq > $2 ORDER BY x.seq LIMIT $3
        ) e ON true
        WHERE r.run_id = $1 ORDER BY e.seq`,
      values: [runId, Math.max(0, Math.floor(opts.afterSeq ?? 0)), limit],
    });
    if (res.rows.length === 0) throw new RunNotFoundError(runId);
    return res.rows.filter((r) => r.seq !== null).map((r) => eventFromRow(runId, r));
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    this.assertOpen();
    const finished = this.cache.finished(runId);
    if (finished) return { ...finished };
    const row = await this.idempotent(() => this.runReads.send(runId));
    return row && runFromRow(row);
  }

  async listRuns(query: ListRunsQuery = {}): Promise<Page<RunRecord>> {
    this.assertOpen();
    const limit = pageSize(query.limit);
    const where: string[] = [];
    const values: unknown[] = [];
    let shape = "list_runs";
    if (query.status !== undefined) {
      values.push(Array.isArray(query.status) ? query.status : [query.status]);
      where.push(`status = ANY($${values.length}::text[])`);
      shape += "_s";
    }
    if (query.workflowName !== undefined) {
      values.push(query.workflowName);
      where.push(`workflow_name = $${values.length}`);
      shape += "_w";
    }
    if (query.cursor !== undefined) {
      const key = decodeCursor(query.cursor);
      values.push(key.createdAt, key.runId);
      where.push(`(created_at, run_id) < ($${values.length - 1}, $${values.length})`);
      shape += "_c";
    }
    values.push(limit + 1);
    const res = await this.read<Row>({
      name: shape,
      text: `SELECT * FROM ${this.s}.runs ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
        ORDER BY created_at DESC, run_id DESC LIMIT $${values.length}`,
      values,
    });
    const items = res.rows.slice(0, limit).map(runFromRow);
    if (res.rows.length <= limit) return { items };
    const last = items[items.length - 1]!;
    return { items, nextCursor: encodeCursor(last) };
  }

  async listSteps(runId: string): Promise<StepRecord[]> {
    return this.listChildren(runId, "steps", "step_id", stepFromRow);
  }

  async getStep(runId: string, stepId: string): Promise<StepRecord | undefined> {
    this.assertOpen();
    const res = await this.read<Row>({
      name: "get_step",
      text: `SELECT * FROM ${this.s}.steps WHERE run_id = $1 AND step_id = $2`,
      values: [runId, stepId],
    });
    const row = res.rows[0];
    return row && stepFromRow(row);
  }

  async listWaits(runId: string): Promise<WaitRecord[]> {
    return this.listChildren(runId, "waits", "wait_id", waitFromRow);
  }

  async listHooks(runId: string): Promise<HookRecord[]> {
    return this.listChildren(runId, "hooks", "hook_id", hookFromRow);
  }

  /** Rows of one run's child table, refusing an unknown run, in one round trip. */
  private async listChildren<T>(
    runId: string,
    table: "steps" | "waits" | "hooks",
    idColumn: string,
    fromRow: (row: Row) => T,
  ): Promise<T[]> {
    this.assertOpen();
    const res = await this.read<{ items: Row[] | null }>({
      name: `list_${table}`,
      text: `SELECT (SELECT json_agg(x ORDER BY x.created_at, x.${idColumn}) FROM ${this.s}.${table} x
          WHERE x.run_id = r.run_id) AS items
        FROM ${this.s}.runs r WHERE r.run_id = $1`,
      values: [runId],
    });
    const row = res.rows[0];
    if (!row) throw new RunNotFoundError(runId);
    return (row.items ?? []).map(fromRow);
  }

  async getHookByToken(token: string): Promise<HookRecord | undefined> {
    this.assertOpen();
    const res = await this.read<Row>({
      name: "hook_by_token",
      text: `SELECT * FROM ${this.s}.hooks WHERE token = $1 AND status = 'active'`,
      values: [token],
    });
    const row = res.rows[0];
    return row && hookFromRow(row);
  }

  // ------------------------------------------------------------------ leases

  async acquireLease(runId: string, owner: string, ttlMs: number): Promise<Lease | undefined> {
    this.assertOpen();
    const s = this.s;
    // A lease already held by `owner` and unexpired is renewed with the same token; otherwise a free or
    // expired lease is taken with the next token. The row lock serialises concurrent acquirers.
    const res = await this.read<Row>({
      name: "acquire_lease",
      text: `WITH clock AS (SELECT ${s}.now_ms() AS t),
        taken AS (
          UPDATE ${s}.runs r SET
            lease_token = CASE WHEN r.lease_held AND r.lease_owner = $2 AND r.lease_expires_at > clock.t
              THEN r.lease_token ELSE r.lease_token + 1 END,
            lease_owner = $2, lease_held = true, lease_expires_at = clock.t + $3
          FROM clock
          WHERE r.run_id = $1 AND (NOT r.lease_held OR r.lease_expires_at <= clock.t OR r.lease_owner = $2)
          RETURNING r.lease_owner, r.lease_token, r.lease_expires_at)
        SELECT EXISTS (SELECT 1 FROM ${s}.runs WHERE run_id = $1) AS found, taken.*
        FROM (SELECT 1) one LEFT JOIN taken ON true`,
      values: [runId, owner, Math.max(0, Math.round(ttlMs))],
    });
    const row = res.rows[0]!;
    if (!row.found) throw new RunNotFoundError(runId);
    return row.lease_owner === null || row.lease_owner === undefined ? undefined : leaseFromRow(runId, row);
  }

  async renewLease(lease: Lease, ttlMs: number): Promise<Lease | undefined> {
    this.assertOpen();
    const res = await this.read<Row>({
      name: "renew_lease",
      text: `UPDATE ${this.s}.runs SET lease_expires_at = ${this.s}.now_ms() + $4
        WHERE run_id = $1 AND lease_held AND lease_owner = $2 AND lease_token = $3
        RETURNING lease_owner, lease_token, lease_expires_at`,
      values: [lease.runId, lease.owner, lease.token, Math.max(0, Math.round(ttlMs))],
    });
    const row = res.rows[0];
    return row && leaseFromRow(lease.runId, row);
  }

  async releaseLease(lease: Lease): Promise<void> {
    this.assertOpen();
    // The append that ended the run freed this lease (trigger of migration 4): nothing left to release.
    if (this.leasesFreedByEnd.get(lease.runId) === lease.token) {
      this.leasesFreedByEnd.delete(lease.runId);
      return;
    }
    await this.read({
      name: "release_lease",
      text: `UPDATE ${this.s}.runs SET lease_held = false
        WHERE run_id = $1 AND lease_held AND lease_owner = $2 AND lease_token = $3`,
      values: [lease.runId, lease.owner, lease.token],
    });
  }

  async claimDue(now: number, owner: string, ttlMs: number, limit = 100): Promise<ClaimedRun[]> {
    this.assertOpen();
    const s = this.s;
    // This is the job-queue claim pattern (what queue libraries on Postgres do), written out because it
    // is one statement over our own run rows: rows another worker is claiming right now are skipped
    // rather than waited for, so concurrent workers split the due runs between them.
    const res = await this.claimQuery<Row>({
      name: "claim_due",
      text: `WITH clock AS (SELECT ${s}.now_ms() AS t),
        due AS (
          SELECT r.run_id FROM ${s}.runs r, clock
          WHERE r.wake_at IS NOT NULL AND r.wake_at <= $1
            AND r.status IN ('pending', 'running')
            AND (NOT r.lease_held OR r.lease_expires_at <= clock.t)
          ORDER BY r.wake_at, r.run_id
          LIMIT $4
          FOR UPDATE OF r SKIP LOCKED)
        UPDATE ${s}.runs r SET lease_owner = $2, lease_token = r.lease_token + 1, lease_held = true,
          lease_expires_at = clock.t + $3
        FROM due, clock WHERE r.run_id = due.run_id
        RETURNING r.run_id, r.wake_at, r.lease_owner, r.lease_token, r.lease_expires_at`,
      values: [now, owner, Math.max(0, Math.round(ttlMs)), Math.max(0, Math.floor(limit))],
    });
    return res.rows
      .map((row) => ({ ...leaseFromRow(row.run_id as string, row), wakeAt: Number(row.wake_at) }))
      .sort((a, b) => a.wakeAt - b.wakeAt || (a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0));
  }

  // ------------------------------------------------------------------ wake-ups and listing

  async listDue(now: number, limit = 100): Promise<DueRun[]> {
    this.assertOpen();
    const res = await this.read<Row>({
      name: "list_due",
      text: `SELECT run_id, wake_at FROM ${this.s}.runs
        WHERE wake_at IS NOT NULL AND wake_at <= $1 AND status IN ('pending', 'running')
        ORDER BY wake_at, run_id LIMIT $2`,
      values: [now, Math.max(0, Math.floor(limit))],
    });
    return res.rows.map((r) => ({ runId: r.run_id as string, wakeAt: Number(r.wake_at) }));
  }

  async listAbandoned(now: number, limit = 100): Promise<AbandonedRun[]> {
    this.assertOpen();
    // `now` is the caller's clock; leases expire by the database's (now_ms), which the caller's may lag. Both
    // bounds must hold, so a lease that only the caller thinks expired is not handed out.
    const res = await this.read<Row>({
      name: "list_abandoned",
      text: `SELECT run_id, lease_expires_at FROM ${this.s}.runs
        WHERE lease_held AND lease_expires_at <= least($1, ${this.s}.now_ms()) AND status IN ('pending', 'running')
        ORDER BY lease_expires_at, run_id LIMIT $2`,
      values: [now, Math.max(0, Math.floor(limit))],
    });
    return res.rows.map((r) => ({ runId: r.run_id as string, expiredAt: Number(r.lease_expires_at) }));
  }

  async nextWakeAt(): Promise<number | undefined> {
    this.assertOpen();
    const res = await this.read<{ t: number | null }>({
      name: "next_wake_at",
      text: `SELECT min(wake_at) AS t FROM ${this.s}.runs
        WHERE wake_at IS NOT NULL AND status IN ('pending', 'running')`,
      values: [],
    });
    const t = res.rows[0]?.t;
    return t === null || t === undefined ? undefined : Number(t);
  }

  async listUnfinished(limit?: number, cursor?: string): Promise<Page<RunRecord>> {
    return this.listRuns({ status: ["pending", "running"], limit, cursor });
  }

  // ------------------------------------------------------------------ deliveries (see migration 5)

  async deliver(runId: string, delivery: NewDelivery): Promise<{ delivery: Delivery; duplicate: boolean }> {
    this.assertOpen();
    checkDelivery(runId, delivery);
    const { deliveryId, event } = delivery;
    // Idempotent by its ID, so a call whose connection broke is simply sent again (`read` does). The resend
    // then finds it recorded, and the notification of the first attempt came back through LISTEN as this
    // instance's own echo, which is skipped: local subscribers are told after a resend in any case.
    let resent = false;
    const res = await this.read<Row>(
      {
        name: "deliver",
        text: `SELECT * FROM ${this.s}.deliver($1, $2, $3, $4, $5)`,
        values: [
          runId,
          deliveryId,
          event.correlationId,
          event.data.payload,
          this.notifications.headlessPayload(runId, "delivered"),
        ],
      },
      () => {
        resent = true;
      },
    );
    const row = res.rows[0]!;
    if (row.code === "not_found") throw new RunNotFoundError(runId);
    if (row.code === "finished") throw new RunFinishedError(runId, row.run_status as RunStatus);
    const duplicate = row.duplicate === true;
    if (!duplicate || resent) {
      this.notifications.deliverLocal(
        { runId, lastSeq: Number(row.run_last_seq), status: row.run_status as RunStatus },
        "delivered",
      );
    }
    return {
      delivery: deliveryFromRow(runId, {
        delivery_id: deliveryId,
        correlation_id: row.d_correlation_id,
        payload: row.d_payload,
        created_at: row.d_created_at,
      }),
      duplicate,
    };
  }

  async listDeliveries(runId: string): Promise<Delivery[]> {
    this.assertOpen();
    const res = await this.read<Row>({
      name: "list_deliveries",
      text: `SELECT d.delivery_id, d.correlation_id, d.payload, d.created_at
        FROM ${this.s}.runs r
        LEFT JOIN ${this.s}.deliveries d ON d.run_id = r.run_id AND NOT d.consumed
          AND r.status IN ('pending', 'running')
        WHERE r.run_id = $1 ORDER BY d.seq`,
      values: [runId],
    });
    if (res.rows.length === 0) throw new RunNotFoundError(runId);
    return res.rows.filter((r) => r.delivery_id !== null).map((r) => deliveryFromRow(runId, r));
  }

  async listDeliveryRuns(before: number, limit = 100): Promise<DeliveryRun[]> {
    this.assertOpen();
    // A range scan of the partial index of pending deliveries; the join skips runs that ended while code
    // older than migration 5 appended (which leaves their deliveries behind).
    const res = await this.read<Row>({
      name: "list_delivery_runs",
      text: `SELECT d.run_id, min(d.created_at) AS since
        FROM ${this.s}.deliveries d JOIN ${this.s}.runs r ON r.run_id = d.run_id
        WHERE NOT d.consumed AND d.created_at <= $1 AND r.status IN ('pending', 'running')
        GROUP BY d.run_id ORDER BY since, d.run_id LIMIT $2`,
      values: [Math.floor(before), Math.max(0, Math.floor(limit))],
    });
    return res.rows.map((r) => ({ runId: r.run_id as string, since: Number(r.since) }));
  }

  // ------------------------------------------------------------------ notifications

  subscribe(listener: (n: RunNotification) => void, runId?: string): () => void {
    return this.notifications.subscribe(listener, runId);
  }

  private onNotification(payload: string): void {
    // A state this process cached for the run is now behind; the next append catches it up.
    if (this.closed || this.streams.deliverRemote(payload) || this.stepTasks.deliverRemote(payload)) return;
    this.notifications.deliverRemote(payload);
  }

  /**
   * After the LISTEN connection came back, tells each per-run subscriber where its run is now, so a
   * caller waiting for a run to end cannot miss an end that happened during the gap.
   */
  private async resyncWatched(): Promise<void> {
    const ids = this.notifications.watchedRuns();
    if (ids.length === 0 || this.closed) return;
    try {
      const res = await this.read<Row>({
        name: "resync",
        text: `SELECT run_id, last_seq, status FROM ${this.s}.runs WHERE run_id = ANY($1)`,
        values: [ids],
      });
      for (const r of res.rows) {
        const status = r.status as RunStatus;
        this.notifications.deliverLocal(
          { runId: r.run_id as string, lastSeq: Number(r.last_seq), status },
          isTerminalStatus(status) ? "finished" : "appended",
        );
      }
    } catch {
      // The pool is down too; the next reconnect tries again.
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

  /**
   * A query that changes nothing or is safe to repeat: retried on another connection when the one it
   * got turns out to be dead (a pooled connection the server closed since its last use).
   */
  private read<T extends pg.QueryResultRow>(
    q: pg.QueryConfig,
    onResend?: () => void,
  ): Promise<pg.QueryResult<T>> {
    return this.idempotent(() => this.pool.query<T>(q), onResend);
  }

  /** Sends a call that is safe to repeat, again on another connection while the one it got is broken. */
  private async idempotent<T>(send: () => Promise<T>, onResend?: () => void): Promise<T> {
    // Each failed attempt makes the pool drop one dead connection, so poolSize + 1 attempts always
    // reach a live one if the server is up.
    for (let attempt = 1; ; attempt++) {
      try {
        return await send();
      } catch (error) {
        if (!isConnectionError(error) || this.closed) throw error;
        if (attempt > this.poolSize) throw connectionLost(error, "The call is safe to repeat.");
        onResend?.();
      }
    }
  }

  /**
   * A claim (`claimDue`, `claimStepTasks`): not resent after a broken connection, since one that committed unseen
   * would be taken twice; its leases or claims then expire by themselves.
   */
  private async claimQuery<T extends pg.QueryResultRow>(q: pg.QueryConfig): Promise<pg.QueryResult<T>> {
    try {
      return await this.pool.query<T>(q);
    } catch (error) {
      throw isConnectionError(error)
        ? connectionLost(error, "What this claim took (if it committed) is freed when its TTL runs out.")
        : error;
    }
  }

  // ------------------------------------------------------------------ flow gates

  async readFlowGate(gateId: string): Promise<FlowGateRecord | undefined> {
    const row = await this.flowGateRow(gateId);
    return row && row.state !== undefined ? { gateId, ...row, state: row.state } : undefined;
  }

  /** The gate's row; a deleted gate keeps its row (state '') so that its version never repeats. */
  private async flowGateRow(gateId: string) {
    checkFlowGateId(gateId);
    const { rows } = await this.read<Row>({
      text: `SELECT state, version, updated_at FROM ${this.s}.flow_gates WHERE gate_id = $1`,
      values: [gateId],
    });
    const row = rows[0];
    if (!row) return undefined;
    const state = row.state as string;
    return {
      state: state === "" ? undefined : state,
      version: Number(row.version),
      updatedAt: Number(row.updated_at),
    };
  }

  /**
   * Compare-and-set on the row's version, retried when another process won. The write is not resent after a
   * broken connection: one that committed unseen would be applied twice by the retry.
   */
  updateFlowGate<T>(gateId: string, update: FlowGateUpdate<T>): Promise<T> {
    return updateByCompareAndSet(
      gateId,
      update,
      () => this.flowGateRow(gateId),
      async (expected, state) => {
        const s = this.s;
        const q: pg.QueryConfig =
          expected === 0
            ? {
                text: `INSERT INTO ${s}.flow_gates (gate_id, state, version, updated_at)
                       VALUES ($1, $2, 1, ${s}.now_ms()) ON CONFLICT (gate_id) DO NOTHING`,
                values: [gateId, state ?? ""],
              }
            : {
                text: `UPDATE ${s}.flow_gates SET state = $2, version = version + 1, updated_at = ${s}.now_ms()
                       WHERE gate_id = $1 AND version = $3`,
                values: [gateId, state ?? "", expected],
              };
        return ((await this.pool.query(q)).rowCount ?? 0) === 1;
      },
    );
  }

  async listFlowGates(limit = 1_000): Promise<string[]> {
    const { rows } = await this.read<{ gate_id: string }>({
      text: `SELECT gate_id FROM ${this.s}.flow_gates WHERE state <> '' ORDER BY gate_id LIMIT $1`,
      values: [limit],
    });
    return rows.map((r) => r.gate_id);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.notifications.clear();
    this.streams.clear();
    this.stepTasks.clear();
    this.cache.clear();
    await this.listener?.close();
    await this.pool.end();
  }

  protected override assertOpen(): void {
    if (this.closed) {
      throw new WorldError(
        "WORLD_CLOSED",
        "This Postgres world was closed; create a new one with createPostgresWorld().",
      );
    }
  }
}
