/**
 * The Redis world: runs shared by any number of processes on any number of machines through one Redis server.
 *
 * - An append is one script call (EVALSHA): the batch is applied to the run's cached state with the shared
 *   materialiser (`@wfkit/world`), and the events plus the changed rows go to the append script, which checks
 *   run, lease, end, head (`expectedSeq`), hook tokens, consumes deliveries, writes and PUBLISHes atomically
 *   (scripts/runs.ts).
 * - Leases live in the run hash with a fencing token, judged by the server's clock; held leases of unfinished
 *   runs are also in a sorted set by expiry (`listAbandoned`). Wake-ups are a sorted set by time.
 * - Notifications: the world's own changes reach its subscribers right after the script answered; other
 *   processes' arrive over pub/sub on a dedicated subscriber connection.
 * - A command whose answer was lost is never resent blindly: appends and creations read the log back to learn
 *   whether they were stored; other calls are idempotent or recognise their own earlier attempt.
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
  createRunState,
  type Delivery,
  type DeliveryRun,
  type DueRun,
  type FlowGateRecord,
  type FlowGateUpdate,
  type FlowGateWorld,
  type HookRecord,
  HookTokenConflictError,
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
  RunFinishedError,
  RunNotFoundError,
  type RunNotification,
  type RunRecord,
  type RunState,
  RunStateCache,
  type RunStatus,
  refusal,
  type StepRecord,
  StoredTasksAndStreams,
  sameEvent,
  stampEvents,
  stateFromRows,
  updateByCompareAndSet,
  type WaitRecord,
  type WorkflowEvent,
  type World,
  WorldError,
} from "@wfkit/world";
import type { Redis } from "ioredis";
import { appendArgs, checkOwnTokens } from "./append-plan.js";
import {
  checkServerVersion,
  connectionLost,
  idempotent,
  isLostAnswer,
  isUnreachable,
  openConnection,
  redactUrl,
} from "./connection.js";
import {
  checkRequirement,
  type DurabilityReport,
  type DurabilityRequirement,
  readDurability,
  warnOnce,
} from "./durability.js";
import { checkPrefix, checkRunId, DEFAULT_PREFIX, indexMember, Keys } from "./keys.js";
import { listRuns } from "./list-runs.js";
import { Notifications } from "./notifications.js";
import { RedisSchedules } from "./schedules.js";
import { callScript, defineScripts, type ScriptArg, type ScriptReply } from "./scripts/index.js";
import { RedisStepTasks } from "./step-tasks.js";
import { RedisStreams } from "./streams.js";
import { forgetReached, takeReached, tracked } from "./tracked-rows.js";

export interface RedisWorldOptions {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://` for TLS). Default: `$WORKFLOW_REDIS_URL`. */
  url?: string;
  /** Prefix of every key and of the pub/sub channel, so several apps share one server. Default "wf:". */
  prefix?: string;
  /**
   * Refuse to start unless the server persists appends: `true` needs `appendonly yes` (AOF, any fsync policy),
   * `"always"` also `appendfsync always`; both need `maxmemory-policy noeviction`. Unset (default): a server
   * that would lose runs gets one warning per process; `false`: accepted without a warning (a cache-like or test
   * server on purpose).
   */
  requireDurability?: DurabilityRequirement;
  /** Runs whose materialised state is kept in memory for appends without a read. Default 10,000. */
  stateCacheSize?: number;
  /** Open the subscriber connection (default true). Without it only this instance's own changes notify. */
  subscribe?: boolean;
  /** Start of the connections' `CLIENT SETNAME` (`<name>:<prefix>:<instance>:cmd|sub`). Default "wfkit". */
  connectionName?: string;
  /** Where the durability warning goes. Default `console.warn`. */
  warn?: (message: string) => void;
}

export interface RedisWorld extends World, FlowGateWorld {
  readonly name: "redis";
  readonly prefix: string;
  /** What the server promised to keep when the world opened (see the README, "Durability"). */
  readonly durability: DurabilityReport;
  /** The connections' names without the `:cmd` / `:sub` suffix (find them with CLIENT LIST). */
  readonly connectionName: string;
}

const DEFAULT_STATE_CACHE = 10_000;
const CONNECTION_NAME = /^[A-Za-z0-9:_.{}-]{1,64}$/;

export async function createRedisWorld(options: RedisWorldOptions = {}): Promise<RedisWorld> {
  const url = options.url ?? process.env.WORKFLOW_REDIS_URL;
  if (!url) {
    throw new WorldError(
      "MISSING_REDIS_URL",
      "The Redis world needs a server: set WORKFLOW_REDIS_URL (redis://host:6379) or pass { url } to " +
        "createRedisWorld().",
    );
  }
  const prefix = checkPrefix(options.prefix ?? DEFAULT_PREFIX);
  const base = options.connectionName ?? "wfkit";
  if (!CONNECTION_NAME.test(base)) {
    throw new WorldError(
      "INVALID_CONFIG",
      `Redis connection name ${JSON.stringify(base)} is not allowed: use 1-64 characters of A-Z a-z 0-9 : _ . { } -.`,
    );
  }
  const notifications = new Notifications();
  const settings = { url, name: `${base}:${prefix}:${notifications.origin}` };
  const reportError = () => {
    // Connection errors are followed by a reconnect; calls in flight get their own errors.
  };
  const client = await openConnection(settings, "cmd", reportError);
  let subscriber: Redis | undefined;
  try {
    defineScripts(client);
    const where = redactUrl(url);
    await checkServerVersion(client, where);
    const durability = await readDurability(client);
    checkRequirement(durability, options.requireDurability, `the server at ${where} has`);
    // `requireDurability: false` (WORKFLOW_REDIS_REQUIRE_AOF=0) says a server that keeps nothing is intended.
    if (options.requireDurability !== false)
      warnOnce(durability, where, options.warn ?? ((m) => console.warn(m)));
    if (options.subscribe !== false) subscriber = await openConnection(settings, "sub", reportError);
    const world = new RedisWorldImpl(
      client,
      subscriber,
      prefix,
      notifications,
      durability,
      settings.name,
      options.stateCacheSize ?? DEFAULT_STATE_CACHE,
    );
    await world.listen();
    return world;
  } catch (error) {
    client.disconnect();
    subscriber?.disconnect();
    throw error;
  }
}

type Fields = Record<string, string>;

class RedisWorldImpl extends StoredTasksAndStreams implements RedisWorld {
  readonly name = "redis" as const;
  private readonly keys: Keys;
  private readonly cache: RunStateCache;
  private readonly mutex = new KeyedMutex();
  protected readonly streams: RedisStreams;
  protected readonly stepTasks: RedisStepTasks;
  private closed = false;

  constructor(
    private readonly client: Redis,
    private readonly subscriber: Redis | undefined,
    readonly prefix: string,
    private readonly notifications: Notifications,
    readonly durability: DurabilityReport,
    readonly connectionName: string,
    stateCacheSize: number,
  ) {
    super();
    this.keys = new Keys(prefix);
    this.cache = new RunStateCache(stateCacheSize);
    this.streams = new RedisStreams(client, prefix, notifications);
    this.stepTasks = new RedisStepTasks(client, prefix, notifications);
  }

  /** Subscribes to the channel; after every reconnect, subscribes again and then re-reads what may be missed. */
  async listen(): Promise<void> {
    const sub = this.subscriber;
    if (!sub) return;
    const channel = this.keys.channel;
    sub.on("message", (from: string, message: string) => {
      if (from === channel && !this.closed) this.notifications.received(message);
    });
    await idempotent("subscribing to the notification channel", () => sub.subscribe(channel));
    let first = true;
    sub.on("ready", () => {
      if (first || this.closed) return;
      // ioredis resubscribes by itself, but without telling when it is done; our own SUBSCRIBE answers once the
      // subscription is active, and everything published after it arrives, so re-reading then misses nothing.
      sub
        .subscribe(channel)
        .then(() => this.notifications.resync((ids) => this.runHeads(ids)))
        .catch(() => {
          // The connection broke again; the next 'ready' tries again.
        });
    });
    first = false;
  }

  // ------------------------------------------------------------------ writes

  async createRun(input: CreateRunInput): Promise<AppendResult> {
    this.assertOpen();
    const now = Date.now();
    const runId = input.runId === undefined ? newRunId(now) : checkRunId(input.runId);
    const data: {
      workflowName: string;
      input: string;
      deploymentId?: string;
      metadata?: Record<string, unknown>;
    } = { workflowName: input.workflowName, input: input.input };
    if (input.deploymentId !== undefined) data.deploymentId = input.deploymentId;
    if (input.metadata !== undefined) data.metadata = input.metadata;
    const events = stampEvents(runId, 0, [{ type: "run_created", data }], now);
    const created = events[0]!;
    const state = createRunState(created);
    const leased = input.lease;
    const args: ScriptArg[] = [
      runId,
      JSON.stringify(created),
      JSON.stringify(state.run),
      indexMember(state.run.createdAt, runId),
      state.run.workflowName,
      this.notifications.runMessage(state.run, "created"),
      leased?.owner ?? "",
      leased ? Math.max(0, Math.round(leased.ttlMs)) : 0,
    ];
    let lease: Lease | undefined;
    for (let attempt = 1; ; attempt++) {
      let reply: ScriptReply[];
      try {
        reply = (await callScript(this.client, "wfCreateRun", this.prefix, args)) as ScriptReply[];
      } catch (error) {
        if (!isLostAnswer(error) || attempt > 5)
          throw this.failure(error, `the creation of run ${runId}`, true);
        // The answer was lost: the log says whether the run was stored, and whether by this call.
        const stored = await this.readEvents(runId, { limit: 1 }).catch((e: unknown) => {
          if (e instanceof RunNotFoundError) return [];
          throw e;
        });
        if (stored.length === 0) continue;
        if (!sameEvent(stored[0]!, created)) throw new AppendConflictError(runId, 0, 1);
        // Ours: the lease (if asked for) is ours too unless it was already taken over.
        if (leased) lease = await this.leaseHeldBy(runId, leased.owner);
        break;
      }
      if (reply[0] === "exists") {
        const current = await this.getRun(runId);
        throw new AppendConflictError(runId, 0, current?.lastSeq ?? 1);
      }
      if (leased) lease = { runId, owner: leased.owner, token: 1, expiresAt: Number(reply[1]) };
      break;
    }
    this.cache.set(state);
    const result = { events, run: { ...state.run }, ...(lease ? { lease } : {}) };
    this.notifications.runChanged(state.run, "created");
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
      state = await this.cache.catchUp(state, (id, afterSeq) => this.readEvents(id, { afterSeq }));
    }
    if (!state || state.run.lastSeq !== expectedSeq || !canAppend(state.run.status, events)) {
      // Not cached, or the append is going to be refused: read the run once, to append or to say why not.
      state = await this.loadAppendable(runId, expectedSeq, lease, events);
    }
    const checkedTokens = checkOwnTokens(state, events);

    const stamped = stampEvents(runId, expectedSeq, events, Date.now());
    // From here the cached state is ahead of Redis until the script succeeds; any failure leaves it dropped.
    this.cache.delete(runId);
    tracked(state);
    forgetReached(state);
    const effects = applyEvents(state, stamped);
    const kind = effects.finished ? "finished" : "appended";
    const args = appendArgs(
      state,
      expectedSeq,
      lease,
      checkedTokens,
      stamped,
      effects,
      takeReached(state),
      this.notifications.runMessage(state.run, kind),
    );
    const reply = await this.sendAppend(args, runId, expectedSeq, stamped);
    switch (reply[0]) {
      case "ok":
        break;
      case "not_found":
        throw new RunNotFoundError(runId);
      case "lease_lost":
        throw new LeaseLostError(runId, lease?.owner ?? "");
      case "conflict":
        // Another writer came first. The run as it is now says which refusal the caller gets (it may have
        // ended meanwhile); should it have moved on again since, the conflict stands.
        await this.loadAppendable(runId, expectedSeq, lease, events);
        throw new AppendConflictError(runId, expectedSeq, Number(reply[1]));
      case "token":
        throw new HookTokenConflictError(String(reply[1]), String(reply[2]));
      default:
        throw new WorldError(
          "UNEXPECTED",
          `The append script answered ${JSON.stringify(reply)} for run ${runId}.`,
        );
    }
    this.cache.set(state);
    const result = { events: stamped, run: { ...state.run } };
    this.notifications.runChanged(state.run, kind);
    return result;
  }

  /**
   * Sends the append. When its answer is lost the log tells what happened: our exact events after
   * `expectedSeq` mean it was stored; nothing after it means it was not (the connection died before the script
   * ran), and it is sent again; anything else means another writer came first. A blind resend would be refused by
   * the script's head check anyway, but the caller would then see a conflict for its own append.
   */
  private async sendAppend(
    args: ScriptArg[],
    runId: string,
    expectedSeq: number,
    stamped: WorkflowEvent[],
  ): Promise<ScriptReply[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return (await callScript(this.client, "wfAppend", this.prefix, args)) as ScriptReply[];
      } catch (error) {
        if (!isLostAnswer(error) || attempt > 5) throw this.failure(error, `an append to run ${runId}`, true);
        const lost = await lostAppend(this, runId, expectedSeq, stamped);
        if (lost.kind === "absent") continue;
        return lost.kind === "stored" ? ["ok"] : ["conflict", lost.actualSeq];
      }
    }
  }

  /** The run's stored state when the batch may be appended to it at `expectedSeq`; else the refusal, thrown. */
  private async loadAppendable(
    runId: string,
    expectedSeq: number,
    lease: Lease | undefined,
    events: NewEvent[],
  ): Promise<RunState> {
    const loaded = await this.loadState(runId);
    const refused = refusal(runId, expectedSeq, loaded, lease, events);
    if (refused) throw refused;
    return loaded.state;
  }

  /** The run's materialised state plus its lease and the server clock, in one round trip (one snapshot). */
  private async loadState(runId: string): Promise<LoadedRun> {
    const k = this.keys;
    const replies = await idempotent(`a read of run ${runId}`, async () => {
      const res = await this.client
        .multi()
        .hgetall(k.run(runId))
        .hvals(k.steps(runId))
        .hvals(k.waits(runId))
        .hvals(k.hooks(runId))
        .time()
        .exec();
      return (res ?? []).map(([error, value]) => {
        if (error) throw error;
        return value;
      });
    });
    const [fields, steps, waits, hooks, time] = replies as [Fields, string[], string[], string[], string[]];
    if (!fields.row) throw new RunNotFoundError(runId);
    return {
      state: tracked(
        stateFromRows(
          JSON.parse(fields.row) as RunRecord,
          steps.map((s) => JSON.parse(s) as StepRecord),
          waits.map((w) => JSON.parse(w) as WaitRecord),
          hooks.map((h) => JSON.parse(h) as HookRecord),
        ),
      ),
      serverNow: Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000),
      lease: {
        held: fields.lh === "1",
        owner: fields.lo,
        token: Number(fields.lt ?? 0),
        expiresAt: Number(fields.le ?? 0),
      },
    };
  }

  // ------------------------------------------------------------------ reads

  async readEvents(
    runId: string,
    opts: { afterSeq?: number; limit?: number } = {},
  ): Promise<WorkflowEvent[]> {
    this.assertOpen();
    const after = Math.max(0, Math.floor(opts.afterSeq ?? 0));
    const count = opts.limit === undefined ? -1 : Math.max(0, Math.floor(opts.limit));
    const reply = (await idempotent(`a read of the events of run ${runId}`, () =>
      callScript(this.client, "wfReadEvents", this.prefix, [runId, after, count]),
    )) as ScriptReply[];
    if (reply[0] === 0) throw new RunNotFoundError(runId);
    return reply.slice(1).map((e) => JSON.parse(e as string) as WorkflowEvent);
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    this.assertOpen();
    const finished = this.cache.finished(runId);
    if (finished) return { ...finished };
    const row = await idempotent(`a read of run ${runId}`, () =>
      this.client.hget(this.keys.run(runId), "row"),
    );
    return row ? (JSON.parse(row) as RunRecord) : undefined;
  }

  private async readRows(runIds: string[]): Promise<(RunRecord | undefined)[]> {
    if (runIds.length === 0) return [];
    const rows = await idempotent("a read of runs", async () => {
      const pipeline = this.client.pipeline();
      for (const id of runIds) pipeline.hget(this.keys.run(id), "row");
      return (await pipeline.exec()) ?? [];
    });
    return rows.map(([error, row]) => {
      if (error) throw error;
      return typeof row === "string" ? (JSON.parse(row) as RunRecord) : undefined;
    });
  }

  /** Where each of the runs is now (for the subscribers after a gap in notifications). */
  private async runHeads(runIds: string[]): Promise<Pick<RunRecord, "runId" | "lastSeq" | "status">[]> {
    const pipeline = this.client.pipeline();
    for (const id of runIds) pipeline.hmget(this.keys.run(id), "seq", "status");
    const replies = (await pipeline.exec()) ?? [];
    return replies.flatMap(([error, value], i) => {
      const [seq, status] = (value ?? []) as (string | null)[];
      if (error || !seq || !status) return [];
      return [{ runId: runIds[i]!, lastSeq: Number(seq), status: status as RunStatus }];
    });
  }

  async listRuns(query: ListRunsQuery = {}): Promise<Page<RunRecord>> {
    this.assertOpen();
    return idempotent("a listing of runs", () =>
      listRuns(this.client, this.keys, query, (ids) => this.readRows(ids)),
    );
  }

  async listSteps(runId: string): Promise<StepRecord[]> {
    return this.listChildren(runId, this.keys.steps(runId), (s: StepRecord) => s.stepId);
  }

  async getStep(runId: string, stepId: string): Promise<StepRecord | undefined> {
    this.assertOpen();
    const row = await idempotent(`a read of a step of run ${runId}`, () =>
      this.client.hget(this.keys.steps(runId), stepId),
    );
    return row ? (JSON.parse(row) as StepRecord) : undefined;
  }

  async listWaits(runId: string): Promise<WaitRecord[]> {
    return this.listChildren(runId, this.keys.waits(runId), (w: WaitRecord) => w.waitId);
  }

  async listHooks(runId: string): Promise<HookRecord[]> {
    return this.listChildren(runId, this.keys.hooks(runId), (h: HookRecord) => h.hookId);
  }

  /** Rows of one of a run's hashes in creation order, refusing an unknown run, in one round trip. */
  private async listChildren<T extends { createdAt: number }>(
    runId: string,
    key: string,
    idOf: (row: T) => string,
  ): Promise<T[]> {
    this.assertOpen();
    const [exists, values] = await idempotent(`a read of run ${runId}`, async () => {
      const res = (await this.client.multi().exists(this.keys.run(runId)).hvals(key).exec()) ?? [];
      return res.map(([error, value]) => {
        if (error) throw error;
        return value;
      }) as [number, string[]];
    });
    if (!exists) throw new RunNotFoundError(runId);
    return values
      .map((v) => JSON.parse(v) as T)
      .sort((a, b) => a.createdAt - b.createdAt || (idOf(a) < idOf(b) ? -1 : idOf(a) > idOf(b) ? 1 : 0));
  }

  async getHookByToken(token: string): Promise<HookRecord | undefined> {
    this.assertOpen();
    const row = await idempotent("a read of a hook by token", () =>
      callScript(this.client, "wfHookByToken", this.prefix, [token]),
    );
    return typeof row === "string" ? (JSON.parse(row) as HookRecord) : undefined;
  }

  // ------------------------------------------------------------------ leases

  async acquireLease(runId: string, owner: string, ttlMs: number): Promise<Lease | undefined> {
    this.assertOpen();
    // Safe to resend: a first attempt that took the lease makes the second a renewal by the same owner.
    const reply = (await idempotent(`the acquisition of the lease of run ${runId}`, () =>
      callScript(this.client, "wfAcquireLease", this.prefix, [runId, owner, Math.max(0, Math.round(ttlMs))]),
    )) as ScriptReply[];
    if (reply[0] === "not_found") throw new RunNotFoundError(runId);
    if (reply[0] !== "ok") return undefined;
    return { runId, owner, token: Number(reply[1]), expiresAt: Number(reply[2]) };
  }

  async renewLease(lease: Lease, ttlMs: number): Promise<Lease | undefined> {
    this.assertOpen();
    const reply = (await idempotent(`the renewal of the lease of run ${lease.runId}`, () =>
      callScript(this.client, "wfRenewLease", this.prefix, [
        lease.runId,
        lease.owner,
        String(lease.token),
        Math.max(0, Math.round(ttlMs)),
      ]),
    )) as ScriptReply[];
    if (reply[0] !== "ok") return undefined;
    return { runId: lease.runId, owner: lease.owner, token: lease.token, expiresAt: Number(reply[1]) };
  }

  async releaseLease(lease: Lease): Promise<void> {
    this.assertOpen();
    await idempotent(`the release of the lease of run ${lease.runId}`, () =>
      callScript(this.client, "wfReleaseLease", this.prefix, [lease.runId, lease.owner, String(lease.token)]),
    );
  }

  /** The run's lease when `owner` holds it (after a createRun whose answer was lost). */
  private async leaseHeldBy(runId: string, owner: string): Promise<Lease | undefined> {
    const [lo, lt, le, lh] = await idempotent(`a read of the lease of run ${runId}`, () =>
      this.client.hmget(this.keys.run(runId), "lo", "lt", "le", "lh"),
    );
    if (lh !== "1" || lo !== owner) return undefined;
    return { runId, owner, token: Number(lt), expiresAt: Number(le) };
  }

  // ------------------------------------------------------------------ wake-ups and listing

  async listDue(now: number, limit = 100): Promise<DueRun[]> {
    this.assertOpen();
    const flat = await this.byScore(this.keys.wake, now, limit);
    return pairs(flat).map(([runId, at]) => ({ runId, wakeAt: at }));
  }

  async nextWakeAt(): Promise<number | undefined> {
    this.assertOpen();
    const first = await idempotent("a read of the next wake-up", () =>
      this.client.zrange(this.keys.wake, 0, 0, "WITHSCORES"),
    );
    return first.length === 2 ? Number(first[1]) : undefined;
  }

  async listUnfinished(limit?: number, cursor?: string): Promise<Page<RunRecord>> {
    return this.listRuns({ status: ["pending", "running"], limit, cursor });
  }

  async listAbandoned(now: number, limit = 100): Promise<AbandonedRun[]> {
    this.assertOpen();
    // Held leases of unfinished runs only: releases, takeovers and run ends keep the set exact.
    const flat = await this.byScore(this.keys.leases, now, limit);
    return pairs(flat).map(([runId, at]) => ({ runId, expiredAt: at }));
  }

  /** Members of a sorted set with scores at or below `max`, lowest first (ties by member), as a flat list. */
  private byScore(key: string, max: number, limit: number): Promise<string[]> {
    return idempotent("a read of a time index", () =>
      this.client.zrange(
        key,
        "-inf",
        max,
        "BYSCORE",
        "LIMIT",
        0,
        Math.max(0, Math.floor(limit)),
        "WITHSCORES",
      ),
    );
  }

  // ------------------------------------------------------------------ deliveries

  async deliver(runId: string, delivery: NewDelivery): Promise<{ delivery: Delivery; duplicate: boolean }> {
    this.assertOpen();
    checkDelivery(runId, delivery);
    const recorded = {
      runId,
      deliveryId: delivery.deliveryId,
      event: {
        type: "hook_received" as const,
        correlationId: delivery.event.correlationId,
        data: { payload: delivery.event.data.payload },
      },
    };
    // The script adds its clock: `…,"createdAt":<ms>}`.
    const head = `${JSON.stringify(recorded).slice(0, -1)},"createdAt":`;
    let resent = false;
    const reply = (await idempotent(
      `a delivery to run ${runId}`,
      () =>
        callScript(this.client, "wfDeliver", this.prefix, [
          runId,
          delivery.deliveryId,
          head,
          this.notifications.origin,
        ]),
      () => {
        resent = true;
      },
    )) as ScriptReply[];
    switch (reply[0]) {
      case "ok": {
        const run = { runId, lastSeq: Number(reply[2]), status: reply[3] as RunStatus };
        this.notifications.runChanged(run, "delivered");
        return { delivery: { ...recorded, createdAt: Number(reply[1]) }, duplicate: false };
      }
      case "pending": {
        const stored = JSON.parse(reply[1] as string) as Delivery;
        if (resent) {
          // Possibly our own lost first attempt, whose notification this instance skipped as its own echo.
          const run = await this.getRun(runId);
          if (run) this.notifications.runChanged(run, "delivered");
        }
        return { delivery: stored, duplicate: true };
      }
      case "consumed":
        return { delivery: { ...recorded, createdAt: Number(reply[1]) }, duplicate: true };
      case "not_found":
        throw new RunNotFoundError(runId);
      case "finished":
        throw new RunFinishedError(runId, String(reply[1]));
      default:
        throw new WorldError(
          "UNEXPECTED",
          `The deliver script answered ${JSON.stringify(reply)} for run ${runId}.`,
        );
    }
  }

  async listDeliveries(runId: string): Promise<Delivery[]> {
    this.assertOpen();
    const reply = (await idempotent(`a read of the deliveries of run ${runId}`, () =>
      callScript(this.client, "wfListDeliveries", this.prefix, [runId]),
    )) as ScriptReply[];
    if (reply[0] === 0) throw new RunNotFoundError(runId);
    return reply.slice(1).flatMap((d) => (typeof d === "string" ? [JSON.parse(d) as Delivery] : []));
  }

  async listDeliveryRuns(before: number, limit = 100): Promise<DeliveryRun[]> {
    this.assertOpen();
    const flat = await this.byScore(this.keys.deliveryRuns, before, limit);
    return pairs(flat).map(([runId, since]) => ({ runId, since }));
  }

  // ------------------------------------------------------------------ notifications

  subscribe(listener: (n: RunNotification) => void, runId?: string): () => void {
    return this.notifications.subscribe(listener, runId);
  }

  // ------------------------------------------------------------------ streams (see streams.ts)
  // writeStream and readStream, and the step task methods, are `StoredTasksAndStreams` (@wfkit/world).

  subscribeStream(runId: string, name: string, listener: () => void): () => void {
    return this.notifications.subscribeStream(runId, name, listener);
  }

  // ------------------------------------------------------------------ plumbing

  /** A failed call as the error the caller gets: connection failures become CONNECTION_LOST. */
  private failure(error: unknown, what: string, maybeApplied: boolean): unknown {
    return isLostAnswer(error) || isUnreachable(error) ? connectionLost(what, error, maybeApplied) : error;
  }

  // ------------------------------------------------------------------ schedules and events [addition]
  // The methods that only ask the store are `StoredSchedules` (@wfkit/world), which this class extends.

  private scheduleStore?: RedisSchedules;
  protected override get schedules(): RedisSchedules {
    this.scheduleStore ??= new RedisSchedules(this.client, this.prefix);
    return this.scheduleStore;
  }

  override async listHooksByTokenPrefix(prefix: string, limit?: number): Promise<HookRecord[]> {
    this.assertOpen();
    return this.schedules.hooksByTokenPrefix(prefix, limit);
  }

  // ------------------------------------------------------------------ flow gates (scripts/gates.ts)

  async readFlowGate(gateId: string): Promise<FlowGateRecord | undefined> {
    const row = await this.flowGateRow(gateId);
    return row && row.state !== undefined
      ? { gateId, state: row.state, version: row.version, updatedAt: row.updatedAt }
      : undefined;
  }

  private async flowGateRow(gateId: string) {
    this.assertOpen();
    checkFlowGateId(gateId);
    const [s, v, u] = await idempotent(`a read of flow gate ${gateId}`, () =>
      this.client.hmget(`${this.prefix}gate:${gateId}`, "s", "v", "u"),
    );
    if (v === null || v === undefined) return undefined;
    return { state: s ? s : undefined, version: Number(v), updatedAt: Number(u) };
  }

  /** Compare-and-set on the gate's version in one script; not resent after a lost connection (it may have run). */
  updateFlowGate<T>(gateId: string, update: FlowGateUpdate<T>): Promise<T> {
    return updateByCompareAndSet(
      gateId,
      update,
      () => this.flowGateRow(gateId),
      async (expected, state) =>
        (await callScript(this.client, "wfSetGate", this.prefix, [gateId, expected, state ?? ""])) === 1,
    );
  }

  async listFlowGates(limit = 1_000): Promise<string[]> {
    this.assertOpen();
    return idempotent("a listing of flow gates", () =>
      this.client.zrange(`${this.prefix}gates`, 0, Math.max(0, limit - 1)),
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.notifications.clear();
    this.cache.clear();
    await Promise.all([quit(this.client), this.subscriber && quit(this.subscriber)]);
  }

  protected override assertOpen(): void {
    if (this.closed) {
      throw new WorldError(
        "WORLD_CLOSED",
        "This Redis world was closed; create a new one with createRedisWorld().",
      );
    }
  }
}

/** QUIT lets the commands in flight finish; a connection that is down is just dropped. */
async function quit(client: Redis): Promise<void> {
  try {
    if (client.status === "ready") await client.quit();
    else client.disconnect();
  } catch {
    client.disconnect();
  }
}

/** `[member, score, member, score, …]` as pairs. */
function pairs(flat: string[]): [string, number][] {
  const out: [string, number][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i]!, Number(flat[i + 1])]);
  return out;
}
