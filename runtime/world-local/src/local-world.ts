/**
 * The local world: runs stored as files under a data directory, for development and single-machine
 * deployments. No server, no native modules, no network hop; several processes (the app, the CLI, the
 * web UI, a restarted app) may open the same directory at once.
 *
 * Layout:
 *   <dataDir>/runs/<runId>.log   one append-only log per run: event batches and lease changes (run-log.ts)
 *   <dataDir>/hooks/<hash>       one claim per live hook token (hook-claims.ts)
 *   <dataDir>/streams/<runId>/   the run's output streams, one file each (stream-files.ts)
 *   <dataDir>/gates/<hash>.json  flow gates: concurrency slots, throttles, debounces (flow-gate-files.ts)
 *
 * Durability (default "os"): a write is handed to the OS page cache and not fsynced, so a process that
 * crashes or is SIGKILLed loses nothing it appended, but a power loss or kernel crash may drop the last
 * records (a torn tail is detected and ignored; earlier records stay intact). `durability: "fsync"` syncs
 * each record to disk before the append returns (about 0.3 ms per append here), and the runs directory
 * after creating a run's file, so the file itself survives a power loss too.
 *
 * Damage: a log whose bytes changed after they were written (not merely a torn tail) quarantines its run: it
 * stays readable up to the damage, but is never driven or written again, so no recorded step runs twice; a
 * log deleted under this process is treated the same way (see `RunLog` and the README).
 *
 * Freshness across processes: a run's own file is re-checked (one `fstat`) whenever that run is read or
 * written, so reads of one run are always current. Listing, wake-ups and cross-process notifications rely
 * on `fs.watch` of the runs directory, which delivers other processes' changes within milliseconds;
 * without it, listing re-reads the directory at most once a second (see `catchUp`).
 */
import { randomBytes } from "node:crypto";
import {
  closeSync,
  existsSync,
  type FSWatcher,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  watch,
} from "node:fs";
import { join, resolve } from "node:path";
import {
  type AbandonedRun,
  AppendConflictError,
  type AppendOptions,
  type AppendResult,
  type CreateRunInput,
  checkAppendable,
  checkBatchShape,
  checkDelivery,
  checkHookTokens,
  type Delivery,
  DeliveryBook,
  type DeliveryRun,
  type DueRun,
  type FlowGateRecord,
  type FlowGateUpdate,
  type FlowGateWorld,
  type HookRecord,
  hooksWithPrefix,
  isTerminalStatus,
  type Lease,
  LeaseLostError,
  type ListRunsQuery,
  type NewDelivery,
  type NewEvent,
  Notifier,
  newRunId,
  type Page,
  RunFinishedError,
  RunIndex,
  RunNotFoundError,
  type RunNotification,
  type RunRecord,
  type StepRecord,
  StoredSchedules,
  type StreamInfo,
  type StreamPage,
  stampEvents,
  type TokenHolder,
  type WaitRecord,
  type WorkflowEvent,
  type World,
  WorldError,
} from "@wfkit/world";
import { isPermissionError, notWritableError } from "./file-io.js";
import { FlowGateFiles } from "./flow-gate-files.js";
import { CLAIM_GRACE_MS, type Claim, type ClaimLiveness, HookClaims } from "./hook-claims.js";
import type { DeliveryRecord, EventRecord, LeaseRecord, LeaseState } from "./records.js";
import { FdCache, type LogChanges, type LogFault, RunLog, toStoredEvent } from "./run-log.js";
import { ScheduleFiles } from "./schedule-files.js";
import { StreamFiles } from "./stream-files.js";

export interface LocalWorldOptions {
  /** Default: `$WORKFLOW_LOCAL_DATA_DIR`, else `<cwd>/.workflow-data`. */
  dataDir?: string;
  /** "os" (default): leave flushing to the OS page cache. "fsync": fdatasync every record. */
  durability?: "os" | "fsync";
  /** Watch the data directory for other processes' changes (default true). */
  watch?: boolean;
  /** Most log files kept open at once (default 1024; Node raises the soft descriptor limit at start). */
  maxOpenFiles?: number;
}

/** Kept for callers of the first release: every `RunRecord` may now carry `quarantine`. */
export type LocalRunRecord = RunRecord;

const RUN_ID = /^[A-Za-z0-9_-]{1,200}$/;
const LOG_SUFFIX = ".log";
const RESCAN_INTERVAL_MS = 1_000;

export function createLocalWorld(options: LocalWorldOptions = {}): World {
  return new LocalWorld(options);
}

class LocalWorld extends StoredSchedules implements World, FlowGateWorld {
  readonly name = "local";
  readonly dataDir: string;
  private readonly runsDir: string;
  private readonly index = new RunIndex();
  private readonly logs = new Map<string, RunLog>();
  private readonly deliveries = new DeliveryBook();
  /** Entries of `runs/` that cannot be read (a directory named like a log, no permission), by run ID. */
  private readonly unreadable = new Map<string, WorldError>();
  /** Problems already reported on the console, so each is reported once. */
  private readonly reported = new Set<string>();
  private readonly notifier = new Notifier();
  private readonly fds: FdCache;
  private readonly claims: HookClaims;
  private readonly streams: StreamFiles;
  protected override readonly schedules: ScheduleFiles;
  private readonly gates: FlowGateFiles;
  private readonly fsync: boolean;
  private readonly nonceBase = randomBytes(6).toString("base64url");
  private nonceCounter = 0;
  private watcher: FSWatcher | undefined;
  private readonly dirty = new Set<string>();
  private flushScheduled = false;
  private lastRescan = 0;
  private closed = false;

  constructor(options: LocalWorldOptions) {
    super();
    this.dataDir = resolve(
      options.dataDir ?? process.env.WORKFLOW_LOCAL_DATA_DIR ?? join(process.cwd(), ".workflow-data"),
    );
    this.runsDir = join(this.dataDir, "runs");
    const hooksDir = join(this.dataDir, "hooks");
    // A data directory this process may only read (another user's) still opens: reads work, and each write
    // reports the missing permission.
    ensureDir(this.runsDir, true);
    ensureDir(hooksDir, true);
    this.fds = new FdCache(options.maxOpenFiles ?? 1024);
    this.claims = new HookClaims(hooksDir);
    this.fsync = options.durability === "fsync";
    this.streams = new StreamFiles(join(this.dataDir, "streams"), this.fsync);
    this.schedules = new ScheduleFiles(this.dataDir);
    this.gates = new FlowGateFiles(join(this.dataDir, "gates"));
    if (options.watch !== false) this.startWatching();
    for (const file of listDir(this.runsDir)) {
      if (file.endsWith(LOG_SUFFIX)) this.openQuietly(file.slice(0, -LOG_SUFFIX.length), false);
    }
    this.lastRescan = Date.now();
  }

  // ------------------------------------------------------------------ writes

  async createRun(input: CreateRunInput): Promise<AppendResult> {
    this.assertOpen();
    const now = Date.now();
    const runId = input.runId ?? newRunId(now);
    if (!RUN_ID.test(runId)) {
      throw new WorldError(
        "INVALID_RUN_ID",
        `Run ID "${runId}" must be 1-200 characters of A-Z, a-z, 0-9, "_" or "-".`,
      );
    }
    let log = this.logs.get(runId);
    if (!log) {
      await this.preopen(runId);
      log = this.logs.get(runId);
    }
    if (!log) {
      log = this.newLog(runId);
      this.logs.set(runId, log);
    } else {
      this.refresh(log);
      const unreadable = this.unreadable.get(runId);
      if (unreadable) throw unreadable;
    }
    log.assertWritable();
    if (log.state) throw new AppendConflictError(runId, 0, log.state.run.lastSeq);
    const data: {
      workflowName: string;
      input: string;
      deploymentId?: string;
      metadata?: Record<string, unknown>;
    } = {
      workflowName: input.workflowName,
      input: input.input,
    };
    if (input.deploymentId !== undefined) data.deploymentId = input.deploymentId;
    if (input.metadata !== undefined) data.metadata = input.metadata;
    const events = stampEvents(runId, 0, [{ type: "run_created", data }], now);
    const rec: EventRecord = { n: this.nonce(), s: 1, e: events.map(toStoredEvent) };
    const { accepted, changes } = log.write(rec, true);
    if (this.fsync) syncDirectory(this.runsDir);
    this.commit(log, changes);
    log.assertWritable();
    // Read through a function: TypeScript would keep `log.state` narrowed to undefined across the write.
    const run = runOf(log);
    if (!accepted || !run) throw new AppendConflictError(runId, 0, run?.lastSeq ?? 0);
    const lease = input.lease && (await this.acquireLease(runId, input.lease.owner, input.lease.ttlMs));
    return { events, run: { ...run }, ...(lease ? { lease } : {}) };
  }

  async append(
    runId: string,
    expectedSeq: number,
    events: NewEvent[],
    opts?: AppendOptions,
  ): Promise<AppendResult> {
    this.assertOpen();
    checkBatchShape(runId, events, false);
    const now = Date.now();
    const lease = opts?.lease;
    // Validate against what this process knows without looking at the file first: the write's read-back
    // catches anything another process wrote meanwhile. Only a refusal is worth a fresh look, since the
    // caller may know a head this process has not read yet.
    // Hook tokens are checked against other runs' files, so a batch creating hooks first makes sure its
    // own run is current too (a stale head must be reported as such, not as a token conflict).
    const createsHooks = events.some((e) => e.type === "hook_created" || e.type === "run_retried");
    let log = this.logs.get(runId);
    if (!log?.state || createsHooks || refusal(log, runId, expectedSeq, lease, now, events)) {
      log = this.mustOpen(runId);
    }
    const refused = refusal(log, runId, expectedSeq, lease, now, events);
    if (refused) throw refused;
    const taken = checkHookTokens(runId, events, (token) => this.liveHolder(token, now));
    // A claim held by a hook of this run that the batch itself disposes is free for the batch to take.
    const disposedHere = new Set(
      events.flatMap((e) => (e.type === "hook_disposed" ? [e.correlationId] : [])),
    );
    const liveness = (c: Claim) =>
      c.runId === runId && disposedHere.has(c.hookId) ? "stale" : this.claimLiveness(c, now);
    const claimed: { token: string; hookId: string }[] = [];
    const releaseClaims = () => {
      for (const t of claimed) this.claims.release(t.token, { runId, hookId: t.hookId });
    };
    try {
      for (const t of taken) {
        this.claims.claim(t.token, { runId, hookId: t.hookId }, now, liveness);
        claimed.push(t);
      }
      // Looking up token holders may have read this run's file too: check the head again.
      const moved = refusal(log, runId, expectedSeq, lease, now, events);
      if (moved) throw moved;
    } catch (e) {
      releaseClaims();
      throw e;
    }

    const stamped = stampEvents(runId, expectedSeq, events, now);
    const rec: EventRecord = { n: this.nonce(), s: expectedSeq + 1, e: stamped.map(toStoredEvent) };
    if (lease) {
      rec.lo = lease.owner;
      rec.lt = lease.token;
    }
    let written: ReturnType<RunLog["write"]>;
    try {
      written = log.write(rec);
    } catch (e) {
      releaseClaims(); // the write failed (a full disk): its hooks do not exist
      throw e;
    }
    const { accepted, changes } = written;
    this.commit(log, changes);
    if (!accepted) {
      releaseClaims();
      log.assertWritable();
      // Another process wrote first; report why this write lost, as the in-process checks would have.
      const after = log.state!.run;
      checkAppendable(runId, after.status, events);
      if (lease && !holds(log.lease, runId, lease, now)) throw new LeaseLostError(runId, lease.owner);
      throw new AppendConflictError(runId, expectedSeq, after.lastSeq);
    }
    return { events: stamped, run: { ...log.state!.run } };
  }

  // ------------------------------------------------------------------ reads

  async readEvents(
    runId: string,
    opts: { afterSeq?: number; limit?: number } = {},
  ): Promise<WorkflowEvent[]> {
    this.assertOpen();
    return this.mustOpen(runId).readEvents(opts.afterSeq, opts.limit);
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    this.assertOpen();
    const state = this.open(runId)?.state;
    return state && { ...state.run };
  }

  async listRuns(query?: ListRunsQuery): Promise<Page<RunRecord>> {
    this.assertOpen();
    this.catchUp();
    return this.index.list(query);
  }

  async listSteps(runId: string): Promise<StepRecord[]> {
    this.assertOpen();
    return [...this.mustOpen(runId).state!.steps.values()].map((s) => ({ ...s }));
  }

  async getStep(runId: string, stepId: string): Promise<StepRecord | undefined> {
    this.assertOpen();
    const step = this.open(runId)?.state?.steps.get(stepId);
    return step && { ...step };
  }

  async listWaits(runId: string): Promise<WaitRecord[]> {
    this.assertOpen();
    return [...this.mustOpen(runId).state!.waits.values()].map((w) => ({ ...w }));
  }

  async listHooks(runId: string): Promise<HookRecord[]> {
    this.assertOpen();
    return [...this.mustOpen(runId).state!.hooks.values()].map((h) => ({ ...h }));
  }

  async getHookByToken(token: string): Promise<HookRecord | undefined> {
    this.assertOpen();
    const holder = this.liveHolder(token, Date.now());
    const hook = holder && this.logs.get(holder.runId)?.state?.hooks.get(holder.hookId);
    return hook?.status === "active" && hook.token === token ? { ...hook } : undefined;
  }

  // ------------------------------------------------------------------ leases

  async acquireLease(runId: string, owner: string, ttlMs: number): Promise<Lease | undefined> {
    this.assertOpen();
    // A lost race means another acquirer's record came first; look again (it usually holds it now).
    for (let attempt = 0; attempt < 3; attempt++) {
      const log = this.mustOpen(runId);
      log.assertWritable();
      const now = Date.now();
      const cur = log.lease;
      const held = cur && !cur.released && cur.expiresAt > now;
      if (held && cur.owner !== owner) return undefined;
      const rec: LeaseRecord = held
        ? { n: this.nonce(), L: "renew", o: owner, k: cur.token, x: now + ttlMs, t: now }
        : { n: this.nonce(), L: "take", o: owner, k: (cur?.token ?? 0) + 1, x: now + ttlMs, t: now };
      const { accepted, changes } = log.write(rec);
      this.commit(log, changes);
      if (accepted) return { runId, owner, token: rec.k, expiresAt: rec.x };
      log.assertWritable();
    }
    return undefined;
  }

  async renewLease(lease: Lease, ttlMs: number): Promise<Lease | undefined> {
    this.assertOpen();
    const log = this.open(lease.runId);
    const cur = log?.lease;
    if (!log || log.fault || !cur || cur.released || cur.owner !== lease.owner || cur.token !== lease.token)
      return undefined;
    const now = Date.now();
    const rec: LeaseRecord = {
      n: this.nonce(),
      L: "renew",
      o: lease.owner,
      k: lease.token,
      x: now + ttlMs,
      t: now,
    };
    const { accepted, changes } = log.write(rec);
    this.commit(log, changes);
    return accepted
      ? { runId: lease.runId, owner: lease.owner, token: lease.token, expiresAt: rec.x }
      : undefined;
  }

  async releaseLease(lease: Lease): Promise<void> {
    this.assertOpen();
    const log = this.open(lease.runId);
    const cur = log?.lease;
    // Nothing is written to a quarantined log; its lease no longer matters, since nobody may drive the run.
    if (!log || log.fault || !cur || cur.released || cur.owner !== lease.owner || cur.token !== lease.token)
      return;
    const now = Date.now();
    const rec: LeaseRecord = {
      n: this.nonce(),
      L: "release",
      o: lease.owner,
      k: lease.token,
      x: now,
      t: now,
    };
    this.commit(log, log.write(rec).changes);
  }

  // ------------------------------------------------------------------ wake-ups and listing

  async listDue(now: number, limit?: number): Promise<DueRun[]> {
    this.assertOpen();
    this.catchUp();
    // Re-check the candidates' files: another process may have handled a wake-up already.
    for (const due of this.index.listDue(now, Number.POSITIVE_INFINITY)) {
      const log = this.logs.get(due.runId);
      if (log) this.refresh(log);
    }
    return this.index.listDue(now, limit);
  }

  async nextWakeAt(): Promise<number | undefined> {
    this.assertOpen();
    this.catchUp();
    return this.index.nextWakeAt();
  }

  async listAbandoned(now: number, limit = 100): Promise<AbandonedRun[]> {
    this.assertOpen();
    this.catchUp();
    const candidates = (): AbandonedRun[] => {
      const out: AbandonedRun[] = [];
      for (const [runId, log] of this.logs) {
        const { lease, state } = log;
        if (!lease || lease.released || lease.expiresAt > now || log.fault) continue;
        if (state && !isTerminalStatus(state.run.status)) out.push({ runId, expiredAt: lease.expiresAt });
      }
      return out;
    };
    // Re-check the candidates' files: another process may have taken or released the lease meanwhile.
    for (const { runId } of candidates()) {
      const log = this.logs.get(runId);
      if (log) this.refresh(log);
    }
    return candidates()
      .sort((a, b) => a.expiredAt - b.expiredAt || (a.runId < b.runId ? -1 : 1))
      .slice(0, Math.max(0, limit));
  }

  async listUnfinished(limit?: number, cursor?: string): Promise<Page<RunRecord>> {
    this.assertOpen();
    this.catchUp();
    return this.index.list({ status: ["pending", "running"], limit, cursor }, { skipQuarantined: true });
  }

  // ------------------------------------------------------------------ deliveries

  async deliver(runId: string, delivery: NewDelivery): Promise<{ delivery: Delivery; duplicate: boolean }> {
    this.assertOpen();
    checkDelivery(runId, delivery);
    const log = this.mustOpen(runId);
    const now = Date.now();
    const { deliveryId } = delivery;
    const { correlationId, data } = delivery.event;
    const event = { type: "hook_received" as const, correlationId, data: { payload: data.payload } };
    const candidate: Delivery = { runId, deliveryId, event, createdAt: now };
    const refused = () => {
      if (log.fault) return log.fault.error;
      const { status } = log.state!.run;
      return isTerminalStatus(status) ? new RunFinishedError(runId, status) : undefined;
    };
    const before = refused();
    if (before) throw before;
    // Known already (pending or consumed): the book answers with the stored one, recording nothing.
    if (this.deliveries.has(runId, deliveryId)) return this.deliveries.record(candidate);
    const rec: DeliveryRecord = { n: this.nonce(), d: deliveryId, e: event, t: now };
    const { accepted, changes } = log.write(rec);
    this.commit(log, changes);
    if (accepted) return { delivery: candidate, duplicate: false };
    // Our record came after the run's end, or after another process's record of the same ID.
    const after = refused();
    if (after) throw after;
    if (this.deliveries.has(runId, deliveryId)) return this.deliveries.record(candidate);
    throw new Error(
      `Delivery ${deliveryId} to run ${runId} was written to ${log.path} but is not in it when read back; ` +
        "was the file changed by hand? Retry the delivery.",
    );
  }

  async listDeliveries(runId: string): Promise<Delivery[]> {
    this.assertOpen();
    this.mustOpen(runId);
    return this.deliveries.pending(runId);
  }

  async listDeliveryRuns(before: number, limit?: number): Promise<DeliveryRun[]> {
    this.assertOpen();
    this.catchUp();
    // Re-check the candidates' files: another process's executor may have consumed them meanwhile.
    for (const { runId } of this.deliveries.dueRuns(before, Number.POSITIVE_INFINITY)) {
      const log = this.logs.get(runId);
      if (log) this.refreshQuietly(log);
    }
    return this.deliveries.dueRuns(before, limit);
  }

  subscribe(listener: (n: RunNotification) => void, runId?: string): () => void {
    return this.notifier.subscribe(listener, runId);
  }

  // ------------------------------------------------------------------ streams (stream-files.ts)

  async writeStream(
    runId: string,
    name: string,
    chunks: readonly string[],
    opts: { close?: boolean } = {},
  ): Promise<{ nextIndex: number }> {
    this.assertOpen();
    this.mustOpen(runId);
    return this.streams.write(runId, name, chunks, opts.close === true);
  }

  async readStream(
    runId: string,
    name: string,
    opts: { startIndex?: number; limit?: number } = {},
  ): Promise<StreamPage> {
    this.assertOpen();
    this.mustOpen(runId);
    return this.streams.read(runId, name, opts.startIndex, opts.limit);
  }

  async listStreams(runId: string): Promise<StreamInfo[]> {
    this.assertOpen();
    this.mustOpen(runId);
    return this.streams.list(runId);
  }

  subscribeStream(runId: string, name: string, listener: () => void): () => void {
    this.assertOpen();
    return this.streams.subscribe(runId, name, listener);
  }

  // ------------------------------------------------------------------ schedules and events [addition]
  // The methods that only ask the store are `StoredSchedules` (@wfkit/world), which this class extends.

  override async listHooksByTokenPrefix(prefix: string, limit?: number): Promise<HookRecord[]> {
    this.assertOpen();
    // Other processes' hooks reach the index through the directory watch (or the periodic rescan without one).
    this.catchUp();
    const hooks: HookRecord[] = [];
    for (const holder of this.index.tokenHoldersWithPrefix(prefix)) {
      const state = this.logs.get(holder.runId)?.state;
      const hook = state?.hooks.get(holder.hookId);
      if (hook && !isTerminalStatus(state!.run.status)) hooks.push({ ...hook });
    }
    return hooksWithPrefix(hooks, prefix, limit);
  }

  // ------------------------------------------------------------------ flow gates

  readFlowGate(gateId: string): Promise<FlowGateRecord | undefined> {
    this.assertOpen();
    return this.gates.readFlowGate(gateId);
  }

  updateFlowGate<T>(gateId: string, update: FlowGateUpdate<T>): Promise<T> {
    this.assertOpen();
    return this.gates.updateFlowGate(gateId, update);
  }

  listFlowGates(limit?: number): Promise<string[]> {
    this.assertOpen();
    return this.gates.listFlowGates(limit);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.streams.close();
    this.watcher?.close();
    this.notifier.clear();
    this.fds.closeAll();
  }

  // ------------------------------------------------------------------ internals

  private logPath(runId: string): string {
    return join(this.runsDir, runId + LOG_SUFFIX);
  }

  private newLog(runId: string): RunLog {
    return new RunLog(runId, this.logPath(runId), {
      fds: this.fds,
      fsync: this.fsync,
      deliveries: this.deliveries,
    });
  }

  /** Creates a new run's file off the main thread (see `FdCache.preopen`), and `runs/` if it was removed. */
  private async preopen(runId: string): Promise<void> {
    try {
      await this.fds.preopen(this.logPath(runId));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      ensureDir(this.runsDir, false);
      await this.fds.preopen(this.logPath(runId));
    }
  }

  /** The run's log, brought up to date with its file; undefined when there is no such run. */
  private open(runId: string, notify = true): RunLog | undefined {
    let log = this.logs.get(runId);
    if (!log) {
      if (!RUN_ID.test(runId) || !existsSync(this.logPath(runId))) return undefined;
      log = this.newLog(runId);
      this.logs.set(runId, log);
    }
    this.refresh(log, notify);
    return log.state ? log : undefined;
  }

  /** The run's log for reading (a quarantined run's too), or the error that says why there is none. */
  private mustOpen(runId: string): RunLog {
    const log = this.open(runId);
    if (log) return log;
    const known = this.logs.get(runId);
    throw known?.fault?.error ?? this.unreadable.get(runId) ?? new RunNotFoundError(runId);
  }

  /** `open` for the listing paths: one bad entry is reported and skipped, never breaks the others. */
  private openQuietly(runId: string, notify = true): void {
    try {
      this.open(runId, notify);
    } catch (e) {
      this.report(`${runId}:open`, `could not read run ${runId} (${this.logPath(runId)}); skipped it.`, e);
    }
  }

  private refreshQuietly(log: RunLog): void {
    try {
      this.refresh(log);
    } catch (e) {
      this.report(`${log.runId}:open`, `could not read run ${log.runId} (${log.path}); skipped it.`, e);
    }
  }

  private refresh(log: RunLog, notify = true): void {
    let changes: LogChanges;
    try {
      changes = log.refresh();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT" && !log.state) return; // created lazily by createRun
      if (log.state) throw e;
      this.markUnreadable(log, e);
      return;
    }
    this.unreadable.delete(log.runId);
    this.commit(log, changes, notify);
  }

  /** An entry of `runs/` that cannot be read at all: it is skipped, and named when asked for. */
  private markUnreadable(log: RunLog, e: unknown): void {
    const code = (e as NodeJS.ErrnoException).code;
    const what = code === "EISDIR" ? "it is a directory" : code ? `${code}` : String(e);
    const error = new WorldError(
      "RUN_LOG_UNREADABLE",
      `The log of run ${log.runId} (${log.path}) cannot be read (${what}); this run is skipped, every other ` +
        `run works. Only <runId>.log files belong in ${this.runsDir}: move this entry out of it${
          isPermissionError(e) ? ", or let this process read it (chmod/chown)" : ""
        }.`,
    );
    this.unreadable.set(log.runId, error);
    this.report(`${log.runId}:unreadable`, error.message);
  }

  /** Follows what a read or write of `log` changed: indexes, claims, memory, subscribers. */
  private commit(log: RunLog, changes: LogChanges, notify = true): void {
    const state = log.state;
    const moved = changes.created || changes.appended > 0;
    if (state && moved) {
      if (changes.created) this.index.add(state);
      else this.index.applied(state, changes.effects);
      for (const hook of changes.effects.hooksReleased) {
        this.claims.release(hook.token, { runId: hook.runId, hookId: hook.hookId });
      }
      if (changes.effects.finished) log.retire();
    }
    if (changes.faulted) this.quarantine(log, log.fault!);
    if (!notify || !state) return;
    const { runId, lastSeq, status } = state.run;
    if (moved) {
      const kind = changes.effects.finished ? "finished" : changes.created ? "created" : "appended";
      this.notifier.notify({ runId, lastSeq, status, kind });
    }
    if (changes.delivered > 0 && !log.fault && !isTerminalStatus(status)) {
      this.notifier.notify({ runId, lastSeq, status, kind: "delivered" });
    }
  }

  /** The run keeps its row and readable prefix, but no engine is offered it again (see `RunRecord.quarantine`). */
  private quarantine(log: RunLog, fault: LogFault): void {
    const status = log.state?.run.status;
    if (log.state) {
      const row = log.state.run as LocalRunRecord;
      row.quarantine = { code: fault.code, reason: fault.reason, atSeq: fault.atSeq };
      this.index.quarantine(log.runId);
    }
    // Deleting finished runs' files (a data directory reset) loses nothing that would still run: not worth
    // a report per run.
    if (fault.code === "RUN_LOG_DELETED" && status !== undefined && isTerminalStatus(status)) return;
    this.report(`${log.runId}:${fault.code}`, `${fault.code}: ${fault.error.message}`);
  }

  private report(key: string, message: string, cause?: unknown): void {
    if (this.reported.has(key)) return;
    this.reported.add(key);
    const detail = cause === undefined ? [] : [cause];
    console.error(`[wfkit/world-local] ${message}`, ...detail);
  }

  /** Who holds `token` now, across processes (see hook-claims.ts). */
  private liveHolder(token: string, now: number): TokenHolder | undefined {
    const known = this.index.tokenHolder(token);
    if (known) {
      const log = this.logs.get(known.runId);
      if (log) this.refresh(log);
      const still = this.index.tokenHolder(token);
      if (still) return still;
    }
    const claim = this.claims.read(token);
    if (claim === undefined || claim === "unreadable") return undefined;
    return this.claimLiveness(claim, now) === "stale"
      ? undefined
      : { runId: claim.runId, hookId: claim.hookId };
  }

  private claimLiveness(claim: Claim, now: number): ClaimLiveness {
    const hook = this.open(claim.runId)?.state?.hooks.get(claim.hookId);
    if (hook) return hook.status === "active" && hook.token === claim.token ? "live" : "stale";
    return now - claim.at < CLAIM_GRACE_MS ? "pending" : "stale";
  }

  private nonce(): string {
    return `${this.nonceBase}${(this.nonceCounter++).toString(36)}`;
  }

  private startWatching(): void {
    try {
      this.watcher = watch(this.runsDir, (_event, filename) => {
        if (typeof filename !== "string" || !filename.endsWith(LOG_SUFFIX)) return;
        this.dirty.add(filename.slice(0, -LOG_SUFFIX.length));
        if (!this.flushScheduled) {
          this.flushScheduled = true;
          setImmediate(() => {
            this.flushScheduled = false;
            if (!this.closed) this.flushDirty();
          });
        }
      });
      this.watcher.on("error", () => {
        // The directory went away or the watch limit was hit: fall back to per-run freshness only.
        this.watcher?.close();
        this.watcher = undefined;
      });
      // Watching must not keep an otherwise finished process alive.
      this.watcher.unref();
    } catch {
      this.watcher = undefined;
    }
  }

  /**
   * Brings the index up to date before a listing. With a working directory watch that is just the runs
   * it reported; without one (`watch: false`, or a file system that does not deliver events), the runs
   * directory is re-read and unfinished runs re-checked, at most once per `RESCAN_INTERVAL_MS` so that
   * frequent calls (an engine polling `listDue`) do not turn into a scan each.
   */
  private catchUp(): void {
    this.flushDirty();
    const now = Date.now();
    if (this.watcher || now - this.lastRescan < RESCAN_INTERVAL_MS) return;
    this.lastRescan = now;
    for (const file of listDir(this.runsDir)) {
      if (!file.endsWith(LOG_SUFFIX)) continue;
      const runId = file.slice(0, -LOG_SUFFIX.length);
      if (!this.logs.get(runId)?.state) this.openQuietly(runId);
    }
    // Known runs are re-checked whether or not their file is still listed, so that a deleted file is noticed.
    // A finished run's events cannot change any more (only lease records may follow).
    for (const log of this.logs.values()) {
      if (log.state && !log.fault && !isTerminalStatus(log.state.run.status)) this.refreshQuietly(log);
    }
  }

  /** Applies the changes the watcher saw in other processes' (and our own) files. */
  private flushDirty(): void {
    if (this.dirty.size === 0) return;
    const ids = [...this.dirty];
    this.dirty.clear();
    for (const runId of ids) this.openQuietly(runId);
  }

  protected override assertOpen(): void {
    if (this.closed)
      throw new Error(`This local world (${this.dataDir}) was closed; create a new one to use it.`);
  }
}

/** Why an append to `log` would be refused, in the order the contract checks: lease, end, head. */
function refusal(
  log: RunLog,
  runId: string,
  expectedSeq: number,
  lease: Lease | undefined,
  now: number,
  events: readonly NewEvent[],
): Error | undefined {
  if (log.fault) return log.fault.error;
  const run = log.state!.run;
  if (lease && !holds(log.lease, runId, lease, now)) return new LeaseLostError(runId, lease.owner);
  try {
    checkAppendable(runId, run.status, events);
  } catch (error) {
    return error as Error;
  }
  if (expectedSeq !== run.lastSeq) return new AppendConflictError(runId, expectedSeq, run.lastSeq);
  return undefined;
}

/**
 * Creates `dir` if missing. With `readOnlyOk`, a directory this process may not create is left missing (the
 * world then lists nothing there, and writes report the permission).
 */
function ensureDir(dir: string, readOnlyOk: boolean): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    if (!isPermissionError(e)) throw e;
    if (!readOnlyOk) throw notWritableError(join(dir, "."), e);
  }
}

/** The entries of `dir`; none when it does not exist (never created, or removed). */
function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
}

/** Makes a new directory entry durable (a file's own fdatasync does not cover its name). */
function syncDirectory(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function runOf(log: RunLog): RunRecord | undefined {
  return log.state?.run;
}

function holds(cur: LeaseState | undefined, runId: string, lease: Lease, now: number): boolean {
  return (
    lease.runId === runId &&
    !!cur &&
    !cur.released &&
    cur.owner === lease.owner &&
    cur.token === lease.token &&
    cur.expiresAt > now
  );
}
