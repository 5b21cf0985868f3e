/**
 * Step tasks (the optional World capability behind step fan-out across workers): a row per (run, step) in
 * `step_tasks`. Every operation is one write transaction, so SQLite's single writer makes claims exclusive: two
 * processes claiming at once are serialised and the second one sees the first one's claims. Fencing tokens and
 * the offer order come from the `counters` table, so a token is never handed out twice, even to a task that was
 * removed and offered again.
 */
import {
  type ClaimedStepTask,
  RunNotFoundError,
  type StepTask,
  type StepTaskNotification,
  type StepTaskOutcome,
  type StepTaskRecord,
} from "@wfkit/world";
import type Database from "better-sqlite3";
import type { Connection } from "./connection.js";

export const TASK_TOPIC = "task";

interface TaskRow {
  run_id: string;
  correlation_id: string;
  attempt: number;
  step_name: string;
  input: string;
  run_started_at: number;
  status: StepTaskRecord["status"];
  claim_owner: string | null;
  claim_token: number | null;
  claim_expires_at: number | null;
  outcome: string | null;
}

type Listener = (n: StepTaskNotification) => void;

export class SqliteStepTasks {
  private readonly listeners = new Set<Listener>();
  private readonly runExists: Database.Statement;
  private readonly row: Database.Statement;
  private readonly replace: Database.Statement;
  private readonly reoffer: Database.Statement;
  private readonly claimable: Database.Statement;
  private readonly setClaim: Database.Statement;
  private readonly setExpiry: Database.Statement;
  private readonly setOutcome: Database.Statement;
  private readonly ofRun: Database.Statement;
  private readonly removeAll: Database.Statement;
  private readonly removeOne: Database.Statement;
  private readonly nextCounter: Database.Statement;

  constructor(private readonly c: Connection) {
    const { db } = c;
    this.runExists = db.prepare("SELECT 1 FROM runs WHERE run_id = ?").pluck();
    this.row = db.prepare("SELECT * FROM step_tasks WHERE run_id = ? AND correlation_id = ?");
    this.replace = db.prepare(
      `INSERT OR REPLACE INTO step_tasks (run_id, correlation_id, attempt, step_name, input, run_started_at, status,
         offer_order) VALUES (?, ?, ?, ?, ?, ?, 'offered', ?)`,
    );
    this.reoffer = db.prepare(
      "UPDATE step_tasks SET status = 'offered' WHERE run_id = ? AND correlation_id = ?",
    );
    this.claimable = db.prepare(
      `SELECT t.* FROM step_tasks t JOIN runs r ON r.run_id = t.run_id
       WHERE t.status <> 'completed' AND (t.status = 'offered' OR t.claim_expires_at <= ?) AND r.finished = 0
       ORDER BY t.offer_order LIMIT ?`,
    );
    this.setClaim = db.prepare(
      `UPDATE step_tasks SET status = 'claimed', claim_owner = ?, claim_token = ?, claim_expires_at = ?
       WHERE run_id = ? AND correlation_id = ?`,
    );
    this.setExpiry = db.prepare(
      "UPDATE step_tasks SET claim_expires_at = ? WHERE run_id = ? AND correlation_id = ?",
    );
    this.setOutcome = db.prepare(
      "UPDATE step_tasks SET status = 'completed', outcome = ? WHERE run_id = ? AND correlation_id = ?",
    );
    this.ofRun = db.prepare("SELECT * FROM step_tasks WHERE run_id = ? ORDER BY correlation_id");
    this.removeAll = db.prepare("DELETE FROM step_tasks WHERE run_id = ?");
    this.removeOne = db.prepare("DELETE FROM step_tasks WHERE run_id = ? AND correlation_id = ?");
    this.nextCounter = db
      .prepare(
        `INSERT INTO counters (name, value) VALUES (?, 1)
         ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value`,
      )
      .pluck();
  }

  async offer(tasks: readonly StepTask[]): Promise<void> {
    if (tasks.length === 0) return;
    const offered = await this.c.write("Offering step tasks", () => {
      for (const runId of new Set(tasks.map((t) => t.runId))) {
        if (this.runExists.get(runId) === undefined) throw new RunNotFoundError(runId);
      }
      const now = Date.now();
      let changed = false;
      for (const t of tasks) {
        const row = this.row.get(t.runId, t.correlationId) as TaskRow | undefined;
        if (row && row.attempt > t.attempt) continue;
        if (row && row.attempt === t.attempt) {
          // The same attempt again: only a claim that expired (its claimer died) makes it claimable again. The
          // claim stays recorded: its claimer may still complete it if nobody claimed it meanwhile.
          if (row.status === "claimed" && (row.claim_expires_at ?? 0) <= now) {
            this.reoffer.run(t.runId, t.correlationId);
            changed = true;
          }
          continue;
        }
        const order = this.nextCounter.get("offer_order") as number;
        this.replace.run(t.runId, t.correlationId, t.attempt, t.stepName, t.input, t.runStartedAt, order);
        changed = true;
      }
      if (changed) this.c.feed.record(TASK_TOPIC, JSON.stringify({ kind: "offered" }), now);
      return changed;
    });
    if (offered) this.notify({ kind: "offered" });
  }

  claim(owner: string, ttlMs: number, limit: number): Promise<ClaimedStepTask[]> {
    if (limit <= 0) return Promise.resolve([]);
    return this.c.write("Claiming step tasks", () => {
      const now = Date.now();
      const rows = this.claimable.all(now, Math.floor(limit)) as TaskRow[];
      return rows.map((row) => {
        const claim = { owner, token: this.nextCounter.get("claim_token") as number, expiresAt: now + ttlMs };
        this.setClaim.run(owner, claim.token, claim.expiresAt, row.run_id, row.correlation_id);
        return { ...taskOf(row), claim };
      });
    });
  }

  renew(task: ClaimedStepTask, ttlMs: number): Promise<ClaimedStepTask | undefined> {
    return this.c.write("Renewing a step task claim", () => {
      const row = this.holding(task);
      if (row?.status !== "claimed") return undefined;
      const expiresAt = Date.now() + ttlMs;
      this.setExpiry.run(expiresAt, task.runId, task.correlationId);
      return { ...taskOf(row), claim: { owner: row.claim_owner ?? "", token: row.claim_token!, expiresAt } };
    });
  }

  async complete(task: ClaimedStepTask, outcome: StepTaskOutcome): Promise<boolean> {
    const result = await this.c.write("Completing a step task", () => {
      const row = this.holding(task);
      if (!row) return "lost" as const;
      if (row.status === "completed") return "again" as const;
      this.setOutcome.run(JSON.stringify(outcome), task.runId, task.correlationId);
      const n = {
        kind: "completed",
        runId: task.runId,
        correlationId: task.correlationId,
        attempt: task.attempt,
      };
      // Other processes read the outcome from the row: it may be large, and the change feed is for wake-ups.
      this.c.feed.record(TASK_TOPIC, JSON.stringify(n), Date.now());
      return "done" as const;
    });
    if (result === "done") {
      this.notify({
        kind: "completed",
        runId: task.runId,
        correlationId: task.correlationId,
        attempt: task.attempt,
        outcome: structuredClone(outcome),
      });
    }
    return result !== "lost";
  }

  list(runId: string): Promise<StepTaskRecord[]> {
    return this.c.snapshot(`Listing the step tasks of run ${runId}`, () => {
      if (this.runExists.get(runId) === undefined) throw new RunNotFoundError(runId);
      return (this.ofRun.all(runId) as TaskRow[]).map(recordOf);
    });
  }

  async remove(runId: string, correlationIds?: readonly string[]): Promise<void> {
    await this.c.write(`Removing step tasks of run ${runId}`, () => {
      if (!correlationIds) this.removeAll.run(runId);
      else for (const cid of correlationIds) this.removeOne.run(runId, cid);
    });
  }

  subscribe(listener: Listener): () => void {
    this.c.feed.start();
    const entry: Listener = (n) => listener(n);
    this.listeners.add(entry);
    return () => void this.listeners.delete(entry);
  }

  /** A change row of another process. */
  deliverRemote(payload: string): void {
    this.notify(JSON.parse(payload) as StepTaskNotification);
  }

  /** Changes were missed: claimers look again (executors re-read their tasks on their renewal tick anyway). */
  resync(): void {
    this.notify({ kind: "offered" });
  }

  clear(): void {
    this.listeners.clear();
  }

  /** The stored row when `task`'s claim is still the current one (same attempt, same claim token). */
  private holding(task: ClaimedStepTask): TaskRow | undefined {
    const row = this.row.get(task.runId, task.correlationId) as TaskRow | undefined;
    if (!row || row.attempt !== task.attempt || row.claim_token !== task.claim.token) return undefined;
    return row;
  }

  private notify(n: StepTaskNotification): void {
    for (const l of [...this.listeners]) {
      try {
        l(n);
      } catch (error) {
        console.error("[wfkit/world-sqlite] a subscribeStepTasks() listener threw; the write stood.", error);
      }
    }
  }
}

function taskOf(row: TaskRow): StepTask {
  return {
    runId: row.run_id,
    correlationId: row.correlation_id,
    attempt: row.attempt,
    stepName: row.step_name,
    input: row.input,
    runStartedAt: row.run_started_at,
  };
}

function recordOf(row: TaskRow): StepTaskRecord {
  const record: StepTaskRecord = { ...taskOf(row), status: row.status };
  if (row.status !== "offered" && row.claim_token !== null) {
    record.claim = {
      owner: row.claim_owner ?? "",
      token: row.claim_token,
      expiresAt: row.claim_expires_at ?? 0,
    };
  }
  if (row.outcome !== null) record.outcome = JSON.parse(row.outcome) as StepTaskOutcome;
  return record;
}
