/**
 * The local world: runs stored as files under a data directory, for development and single-machine
 * deployments. No server, no native modules, no network hop; several processes (the app, the CLI, the
 * web UI, a restarted app) may open the same directory at once.
 *
 * Layout:
 *   <dataDir>/runs/<runId>.log   one append-only log per run: event batches and lease changes (run-log.ts)
 *   <dataDir>/hooks/<hash>       one claim per live hook token (hook-claims.ts)
 *   <dataDir>/streams/<runId>/   the run's output streams, one file each (stream-files.ts)
 *
 * Durability (default "os"): a write is handed to the OS page cache and not fsynced, so a process that
 * crashes or is SIGKILLed loses nothing it appended, but a power loss or kernel crash may drop the last
 * records (a torn tail is detected and ignored; earlier records stay intact). `durability: "fsync"` syncs
 * each record to disk before the append returns (about 0.3 ms per append here), and the runs directory
 * after creating a run's file, so the file itself survives a power loss too.
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
  AppendConflictError,
  type AppendOptions,
  type AppendResult,
  type CreateRunInput,
  checkBatchShape,
  checkHookTokens,
  type DueRun,
  type HookRecord,
  isTerminalStatus,
  type Lease,
  LeaseLostError,
  type ListRunsQuery,
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
  type StreamPage,
  stampEvents,
  type TokenHolder,
  type WaitRecord,
  type WorkflowEvent,
  type World,
  WorldError,
} from "@wfkit/world";
import { CLAIM_GRACE_MS, type Claim, type ClaimLiveness, HookClaims } from "./hook-claims.js";
import type { EventRecord, LeaseRecord, LeaseState } from "./records.js";
import { FdCache, type LogChanges, RunLog, toStoredEvent } from "./run-log.js";
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

const RUN_ID = /^[A-Za-z0-9_-]{1,200}$/;
const LOG_SUFFIX = ".log";
const RESCAN_INTERVAL_MS = 1_000;

export function createLocalWorld(options: LocalWorldOptions = {}): World {
  return new LocalWorld(options);
}

class LocalWorld implements World {
  readonly name = "local";
  readonly dataDir: string;
  private readonly runsDir: string;
  private readonly index = new RunIndex();
  private readonly logs = new Map<string, RunLog>();
  private readonly notifier = new Notifier();
  private readonly fds: FdCache;
  private readonly claims: HookClaims;
  private readonly streams: StreamFiles;
  private readonly fsync: boolean;
  private readonly nonceBase = randomBytes(6).toString("base64url");
  private nonceCounter = 0;
  private watcher: FSWatcher | undefined;
  private readonly dirty = new Set<string>();
  private flushScheduled = false;
  private lastRescan = 0;
  private closed = false;

  constructor(options: LocalWorldOptions) {
    this.dataDir = resolve(
      options.dataDir ?? process.env.WORKFLOW_LOCAL_DATA_DIR ?? join(process.cwd(), ".workflow-data"),
    );
    this.runsDir = join(this.dataDir, "runs");
    const hooksDir = join(this.dataDir, "hooks");
    mkdirSync(this.runsDir, { recursive: true });
    mkdirSync(hooksDir, { recursive: true });
    this.fds = new FdCache(options.maxOpenFiles ?? 1024);
    this.claims = new HookClaims(hooksDir);
    this.fsync = options.durability === "fsync";
    this.streams = new StreamFiles(join(this.dataDir, "streams"), this.fsync);
    if (options.watch !== false) this.startWatching();
    for (const file of readdirSync(this.runsDir)) {
      if (file.endsWith(LOG_SUFFIX)) this.open(file.slice(0, -LOG_SUFFIX.length), false);
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
      await this.fds.preopen(this.logPath(runId));
      log = this.logs.get(runId);
    }
    if (!log) {
      log = new RunLog(runId, this.logPath(runId), { fds: this.fds, fsync: this.fsync });
      this.logs.set(runId, log);
    } else {
      this.refresh(log);
    }
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
    const createsHooks = events.some((e) => e.type === "hook_created");
    let log = this.logs.get(runId);
    if (!log?.state || createsHooks || refusal(log, runId, expectedSeq, lease, now)) {
      log = this.mustOpen(runId);
    }
    const refused = refusal(log, runId, expectedSeq, lease, now);
    if (refused) throw refused;
    const taken = checkHookTokens(runId, events, (token) => this.liveHolder(token, now));
    // A claim held by a hook of this run that the batch itself disposes is free for the batch to take.
    const disposedHere = new Set(
      events.flatMap((e) => (e.type === "hook_disposed" ? [e.correlationId] : [])),
    );
    const liveness = (c: Claim) =>
      c.runId === runId && disposedHere.has(c.hookId) ? "stale" : this.claimLiveness(c, now);
    const claimed: { token: string; hookId: string }[] = [];
    try {
      for (const t of taken) {
        this.claims.claim(t.token, { runId, hookId: t.hookId }, now, liveness);
        claimed.push(t);
      }
      // Looking up token holders may have read this run's file too: check the head again.
      const moved = refusal(log, runId, expectedSeq, lease, now);
      if (moved) throw moved;
    } catch (e) {
      for (const t of claimed) this.claims.release(t.token, { runId, hookId: t.hookId });
      throw e;
    }

    const stamped = stampEvents(runId, expectedSeq, events, now);
    const rec: EventRecord = { n: this.nonce(), s: expectedSeq + 1, e: stamped.map(toStoredEvent) };
    if (lease) {
      rec.lo = lease.owner;
      rec.lt = lease.token;
    }
    const { accepted, changes } = log.write(rec);
    this.commit(log, changes);
    if (!accepted) {
      for (const t of claimed) this.claims.release(t.token, { runId, hookId: t.hookId });
      // Another process wrote first; report why this write lost, as the in-process checks would have.
      const after = log.state!.run;
      if (isTerminalStatus(after.status)) throw new RunFinishedError(runId, after.status);
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
    }
    return undefined;
  }

  async renewLease(lease: Lease, ttlMs: number): Promise<Lease | undefined> {
    this.assertOpen();
    const log = this.open(lease.runId);
    const cur = log?.lease;
    if (!log || !cur || cur.released || cur.owner !== lease.owner || cur.token !== lease.token)
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
    if (!log || !cur || cur.released || cur.owner !== lease.owner || cur.token !== lease.token) return;
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

  async listUnfinished(limit?: number, cursor?: string): Promise<Page<RunRecord>> {
    this.assertOpen();
    this.catchUp();
    return this.index.list({ status: ["pending", "running"], limit, cursor });
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

  subscribeStream(runId: string, name: string, listener: () => void): () => void {
    this.assertOpen();
    return this.streams.subscribe(runId, name, listener);
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

  /** The run's log, brought up to date with its file; undefined when there is no such run. */
  private open(runId: string, notify = true): RunLog | undefined {
    let log = this.logs.get(runId);
    if (!log) {
      if (!RUN_ID.test(runId) || !existsSync(this.logPath(runId))) return undefined;
      log = new RunLog(runId, this.logPath(runId), { fds: this.fds, fsync: this.fsync });
      this.logs.set(runId, log);
    }
    this.refresh(log, notify);
    return log.state ? log : undefined;
  }

  private mustOpen(runId: string): RunLog {
    const log = this.open(runId);
    if (!log) throw new RunNotFoundError(runId);
    return log;
  }

  private refresh(log: RunLog, notify = true): void {
    let changes: LogChanges;
    try {
      changes = log.refresh();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return; // created lazily by createRun
      throw e;
    }
    this.commit(log, changes, notify);
  }

  /** Follows what a read or write of `log` changed: indexes, claims, memory, subscribers. */
  private commit(log: RunLog, changes: LogChanges, notify = true): void {
    const state = log.state;
    if (!state || (!changes.created && changes.appended === 0)) return;
    if (changes.created) this.index.add(state);
    else this.index.applied(state, changes.effects);
    for (const hook of changes.effects.hooksReleased) {
      this.claims.release(hook.token, { runId: hook.runId, hookId: hook.hookId });
    }
    if (changes.effects.finished) log.retire();
    if (notify) {
      const kind = changes.effects.finished ? "finished" : changes.created ? "created" : "appended";
      this.notifier.notify({
        runId: state.run.runId,
        lastSeq: state.run.lastSeq,
        status: state.run.status,
        kind,
      });
    }
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
    for (const file of readdirSync(this.runsDir)) {
      if (!file.endsWith(LOG_SUFFIX)) continue;
      const runId = file.slice(0, -LOG_SUFFIX.length);
      const log = this.logs.get(runId);
      // A finished run's events cannot change any more (only lease records may follow).
      if (!log) this.open(runId);
      else if (!log.state || !isTerminalStatus(log.state.run.status)) this.refresh(log);
    }
  }

  /** Applies the changes the watcher saw in other processes' (and our own) files. */
  private flushDirty(): void {
    if (this.dirty.size === 0) return;
    const ids = [...this.dirty];
    this.dirty.clear();
    for (const runId of ids) this.open(runId);
  }

  private assertOpen(): void {
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
): Error | undefined {
  const run = log.state!.run;
  if (lease && !holds(log.lease, runId, lease, now)) return new LeaseLostError(runId, lease.owner);
  if (isTerminalStatus(run.status)) return new RunFinishedError(runId, run.status);
  if (expectedSeq !== run.lastSeq) return new AppendConflictError(runId, expectedSeq, run.lastSeq);
  return undefined;
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
