/**
 * Step tasks on Postgres (the optional step task methods of the World contract): the queue through which a
 * run's executor offers steps to any worker on any machine (table `step_tasks`, migration 3).
 *
 * - Offer: one upsert for the batch. A newer attempt replaces the row; the same attempt is left alone unless its
 *   claim expired (its claimer died), which makes it claimable again. It `pg_notify`s only when a row changed.
 * - Claim: the job-queue pattern (`FOR UPDATE SKIP LOCKED`, oldest offer first) written out rather than taken
 *   from a queue library because the tasks must be judged together with our own rows (a finished run's tasks are
 *   skipped) and expiry by the database clock, in one statement. Concurrent claimers skip each other's rows, so
 *   they never block on or double-claim a task. Each claim draws a fencing token from a sequence.
 * - Renew and complete check attempt and token, so a claimer that lost its claim (expired and taken, or the task
 *   replaced) can neither extend it nor store an outcome. Completing is idempotent (it may be resent after a
 *   broken connection).
 * - Notifications travel on the world's channel with the `task:` prefix; this instance's own changes reach its
 *   subscribers right after commit and their echo is skipped by origin. After a LISTEN gap, subscribers hear
 *   `offered` (claimers look again); executors re-read their awaited tasks on their own timer.
 */
import {
  type ClaimedStepTask,
  RunNotFoundError,
  type StepTask,
  type StepTaskNotification,
  type StepTaskOutcome,
  type StepTaskRecord,
} from "@wfkit/world";
import type pg from "pg";
import { toJson } from "./text-codec.js";

/** Marks a step task notification on the shared channel (run notifications are bare JSON objects). */
const PREFIX = "task:";
/** Postgres refuses NOTIFY payloads of 8,000 bytes or more. */
const MAX_NOTIFY_BYTES = 7_900;

export interface PgStepTasksOptions {
  /** The quoted schema. */
  s: string;
  /** The schema's notification channel. */
  channel: string;
  /** The world instance's origin ID (shared with its run notifications). */
  origin: string;
  /** A query safe to repeat, retried on another connection when the one it got was dead. */
  read<T extends pg.QueryResultRow>(q: pg.QueryConfig): Promise<pg.QueryResult<T>>;
  /** A claim: sent once (see `claim`). */
  claim<T extends pg.QueryResultRow>(q: pg.QueryConfig): Promise<pg.QueryResult<T>>;
}

type Row = Record<string, unknown>;
type Listener = (n: StepTaskNotification) => void;

const TASK_COLUMNS =
  "t.run_id, t.correlation_id, t.attempt, t.step_name, t.input, t.run_started_at, t.offered_seq, " +
  "t.status, t.claim_owner, t.claim_token, t.claim_expires_at, t.outcome";

export class PgStepTasks {
  private readonly listeners = new Set<Listener>();

  constructor(private readonly o: PgStepTasksOptions) {}

  async offer(tasks: readonly StepTask[]): Promise<void> {
    if (tasks.length === 0) return;
    const s = this.o.s;
    const rows = tasks.map((t, ord) => ({
      run_id: t.runId,
      correlation_id: t.correlationId,
      attempt: t.attempt,
      step_name: t.stepName,
      input: t.input,
      run_started_at: t.runStartedAt,
      ord,
    }));
    // Idempotent (a resend after a broken connection changes nothing more), so it goes through `read`.
    const res = await this.o.read<Row>({
      name: "offer_step_tasks",
      text: `WITH input AS (
          SELECT * FROM json_to_recordset($1) AS x(run_id text, correlation_id text, attempt integer,
            step_name text, input text, run_started_at bigint, ord integer)),
        missing AS (
          SELECT i.run_id FROM input i
          WHERE NOT EXISTS (SELECT 1 FROM ${s}.runs r WHERE r.run_id = i.run_id) LIMIT 1),
        changed AS (
          INSERT INTO ${s}.step_tasks AS t (run_id, correlation_id, attempt, step_name, input, run_started_at,
            offered_seq, status)
          SELECT o.run_id, o.correlation_id, o.attempt, o.step_name, o.input, o.run_started_at,
            nextval('${s}.step_task_offers'), 'offered'
          FROM (SELECT * FROM input WHERE NOT EXISTS (SELECT 1 FROM missing) ORDER BY ord) o
          ON CONFLICT (run_id, correlation_id) DO UPDATE SET
            offered_seq = CASE WHEN excluded.attempt > t.attempt THEN excluded.offered_seq ELSE t.offered_seq END,
            attempt = excluded.attempt, step_name = excluded.step_name, input = excluded.input,
            run_started_at = excluded.run_started_at, status = 'offered', claim_owner = NULL,
            claim_token = NULL, claim_expires_at = NULL, outcome = NULL
          WHERE excluded.attempt > t.attempt
            OR (excluded.attempt = t.attempt AND t.status = 'claimed' AND t.claim_expires_at <= ${s}.now_ms())
          RETURNING 1)
        SELECT (SELECT run_id FROM missing) AS missing, count(*) AS changed,
          CASE WHEN count(*) > 0 THEN pg_notify('${this.o.channel}', $2) END AS notified
        FROM changed`,
      values: [toJson(rows), this.payload(["offered"])],
    });
    const row = res.rows[0];
    if (typeof row?.missing === "string") throw new RunNotFoundError(row.missing);
    if (Number(row?.changed ?? 0) > 0) this.notify({ kind: "offered" });
  }

  async claim(owner: string, ttlMs: number, limit: number): Promise<ClaimedStepTask[]> {
    const s = this.o.s;
    if (limit <= 0) return [];
    // Not resent after a broken connection: a claim that committed unseen only delays its tasks until the claim
    // expires, when any worker takes them again.
    const res = await this.o.claim<Row>({
      name: "claim_step_tasks",
      text: `WITH clock AS (SELECT ${s}.now_ms() AS now),
        picked AS (
          SELECT t.run_id, t.correlation_id FROM ${s}.step_tasks t, clock
          WHERE (t.status = 'offered' OR (t.status = 'claimed' AND t.claim_expires_at <= clock.now))
            AND EXISTS (SELECT 1 FROM ${s}.runs r WHERE r.run_id = t.run_id AND r.status IN ('pending', 'running'))
          ORDER BY t.offered_seq
          LIMIT $3
          FOR UPDATE OF t SKIP LOCKED)
        UPDATE ${s}.step_tasks t SET status = 'claimed', claim_owner = $1,
          claim_token = nextval('${s}.step_task_claims'), claim_expires_at = clock.now + $2
        FROM picked, clock
        WHERE t.run_id = picked.run_id AND t.correlation_id = picked.correlation_id
        RETURNING ${TASK_COLUMNS}`,
      values: [owner, Math.max(0, Math.round(ttlMs)), Math.floor(limit)],
    });
    return res.rows
      .sort((a, b) => Number(a.offered_seq) - Number(b.offered_seq))
      .map((row) => claimedFromRow(row));
  }

  async renew(task: ClaimedStepTask, ttlMs: number): Promise<ClaimedStepTask | undefined> {
    const s = this.o.s;
    const res = await this.o.read<Row>({
      name: "renew_step_task",
      text: `UPDATE ${s}.step_tasks t SET claim_expires_at = ${s}.now_ms() + $5
        WHERE t.run_id = $1 AND t.correlation_id = $2 AND t.attempt = $3 AND t.claim_token = $4
          AND t.status = 'claimed'
        RETURNING ${TASK_COLUMNS}`,
      values: [
        task.runId,
        task.correlationId,
        task.attempt,
        task.claim.token,
        Math.max(0, Math.round(ttlMs)),
      ],
    });
    const row = res.rows[0];
    return row && claimedFromRow(row);
  }

  async complete(task: ClaimedStepTask, outcome: StepTaskOutcome): Promise<boolean> {
    const s = this.o.s;
    const key = "t.run_id = $1 AND t.correlation_id = $2 AND t.attempt = $3 AND t.claim_token = $4";
    // Idempotent: a resend finds its own outcome stored (`already`) and answers true again.
    const res = await this.o.read<{ done: boolean; already: boolean }>({
      name: "complete_step_task",
      text: `WITH done AS (
          UPDATE ${s}.step_tasks t SET status = 'completed', outcome = $5
          WHERE ${key} AND t.status = 'claimed'
          RETURNING 1)
        SELECT EXISTS (SELECT 1 FROM done) AS done,
          EXISTS (SELECT 1 FROM ${s}.step_tasks t WHERE ${key} AND t.status = 'completed') AS already,
          CASE WHEN EXISTS (SELECT 1 FROM done) THEN pg_notify('${this.o.channel}', $6) END AS notified`,
      values: [
        task.runId,
        task.correlationId,
        task.attempt,
        task.claim.token,
        toJson(outcome),
        this.payload(["completed", task.runId, task.correlationId, task.attempt], outcome),
      ],
    });
    const row = res.rows[0];
    if (row?.done) {
      this.notify({
        kind: "completed",
        runId: task.runId,
        correlationId: task.correlationId,
        attempt: task.attempt,
        outcome,
      });
      return true;
    }
    return row?.already === true;
  }

  async list(runId: string): Promise<StepTaskRecord[]> {
    const s = this.o.s;
    const res = await this.o.read<{ items: Row[] | null }>({
      name: "list_step_tasks",
      text: `SELECT (SELECT json_agg(x ORDER BY x.correlation_id) FROM (
          SELECT ${TASK_COLUMNS} FROM ${s}.step_tasks t WHERE t.run_id = r.run_id) x) AS items
        FROM ${s}.runs r WHERE r.run_id = $1`,
      values: [runId],
    });
    const row = res.rows[0];
    if (!row) throw new RunNotFoundError(runId);
    return (row.items ?? []).map(recordFromRow);
  }

  async remove(runId: string, correlationIds?: readonly string[]): Promise<void> {
    const s = this.o.s;
    if (correlationIds === undefined) {
      await this.o.read({
        name: "remove_run_step_tasks",
        text: `DELETE FROM ${s}.step_tasks WHERE run_id = $1`,
        values: [runId],
      });
      return;
    }
    if (correlationIds.length === 0) return;
    await this.o.read({
      name: "remove_step_tasks",
      text: `DELETE FROM ${s}.step_tasks WHERE run_id = $1 AND correlation_id = ANY($2::text[])`,
      values: [runId, [...correlationIds]],
    });
  }

  subscribe(listener: Listener): () => void {
    const entry: Listener = (n) => listener(n);
    this.listeners.add(entry);
    return () => void this.listeners.delete(entry);
  }

  /** A payload that arrived through LISTEN. Returns false when it is not a step task notification. */
  deliverRemote(payload: string): boolean {
    if (!payload.startsWith(PREFIX)) return false;
    let parsed: unknown;
    try {
      parsed = JSON.parse(payload.slice(PREFIX.length));
    } catch {
      return true;
    }
    if (!Array.isArray(parsed) || parsed[0] === this.o.origin) return true;
    const [, kind, runId, correlationId, attempt, outcome] = parsed as unknown[];
    if (kind === "offered") this.notify({ kind: "offered" });
    else if (
      kind === "completed" &&
      typeof runId === "string" &&
      typeof correlationId === "string" &&
      typeof attempt === "number"
    ) {
      const n: StepTaskNotification = { kind: "completed", runId, correlationId, attempt };
      if (isOutcome(outcome)) n.outcome = outcome;
      this.notify(n);
    }
    return true;
  }

  /** After a LISTEN gap: offers made meanwhile went unheard, so claimers look again. */
  resync(): void {
    this.notify({ kind: "offered" });
  }

  clear(): void {
    this.listeners.clear();
  }

  /**
   * The NOTIFY payload. A completion carries its outcome when the payload stays under Postgres's 8,000-byte
   * limit, which saves the executor a read; a larger outcome is read from the row.
   */
  private payload(body: unknown[], outcome?: StepTaskOutcome): string {
    const bare = PREFIX + JSON.stringify([this.o.origin, ...body]);
    if (!outcome) return bare;
    const full = PREFIX + JSON.stringify([this.o.origin, ...body, outcome]);
    return Buffer.byteLength(full) <= MAX_NOTIFY_BYTES ? full : bare;
  }

  private notify(n: StepTaskNotification): void {
    if (this.listeners.size === 0) return;
    for (const l of [...this.listeners]) {
      try {
        l(n);
      } catch (error) {
        console.error(
          "[wfkit/world-postgres] a subscribeStepTasks() listener threw; the write stood.",
          error,
        );
      }
    }
  }
}

function taskFromRow(row: Row): StepTask {
  return {
    runId: row.run_id as string,
    correlationId: row.correlation_id as string,
    attempt: Number(row.attempt),
    stepName: row.step_name as string,
    input: row.input as string,
    runStartedAt: Number(row.run_started_at),
  };
}

function claimOf(row: Row): ClaimedStepTask["claim"] {
  return {
    owner: row.claim_owner as string,
    token: Number(row.claim_token),
    expiresAt: Number(row.claim_expires_at),
  };
}

function claimedFromRow(row: Row): ClaimedStepTask {
  return { ...taskFromRow(row), claim: claimOf(row) };
}

function recordFromRow(row: Row): StepTaskRecord {
  const record: StepTaskRecord = {
    ...taskFromRow(row),
    status: row.status as StepTaskRecord["status"],
  };
  if (row.claim_token !== null && row.claim_token !== undefined) record.claim = claimOf(row);
  if (row.outcome !== null && row.outcome !== undefined) record.outcome = row.outcome as StepTaskOutcome;
  return record;
}

function isOutcome(value: unknown): value is StepTaskOutcome {
  const o = value as StepTaskOutcome | undefined;
  return (
    typeof o === "object" &&
    o !== null &&
    (o.type === "step_completed" || o.type === "step_retrying" || o.type === "step_failed") &&
    typeof o.data === "object"
  );
}
