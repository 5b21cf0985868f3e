/**
 * Schedules, event triggers and the hook prefix lookup of the Postgres world (tables of migration 8). Each method is
 * one statement, safe to resend after a lost connection: the upsert and the pause set values, a tick only moves
 * `last_tick` forward (`advanceTick` in `@wfkit/world`, here as a conditional UPDATE), deletes are deletes.
 */
import {
  checkScheduleName,
  type EventTrigger,
  type HookRecord,
  type ScheduleDefinition,
  type ScheduleRecord,
} from "@wfkit/world";
import type pg from "pg";
import { hookFromRow, type Row } from "./rows.js";

type Query = <T extends pg.QueryResultRow>(q: pg.QueryConfig) => Promise<pg.QueryResult<T>>;

export class PgSchedules {
  constructor(
    private readonly query: Query,
    /** The quoted schema name. */
    private readonly s: string,
  ) {}

  async put(def: ScheduleDefinition, now: number): Promise<ScheduleRecord> {
    checkScheduleName(def.name);
    const res = await this.query<Row>({
      text: `INSERT INTO ${this.s}.schedules
               (name, workflow_name, cron, timezone, args, overlap, catch_up, paused, last_tick, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, false, $8, $8, $8)
             ON CONFLICT (name) DO UPDATE SET workflow_name = EXCLUDED.workflow_name, cron = EXCLUDED.cron,
               timezone = EXCLUDED.timezone, args = EXCLUDED.args, overlap = EXCLUDED.overlap,
               catch_up = EXCLUDED.catch_up, updated_at = EXCLUDED.updated_at
             RETURNING *`,
      values: [
        def.name,
        def.workflowName,
        def.cron,
        def.timezone ?? null,
        def.args,
        def.overlap,
        def.catchUp,
        now,
      ],
    });
    return scheduleFromRow(res.rows[0]!);
  }

  async get(name: string): Promise<ScheduleRecord | undefined> {
    const res = await this.query<Row>({
      text: `SELECT * FROM ${this.s}.schedules WHERE name = $1`,
      values: [name],
    });
    return res.rows[0] && scheduleFromRow(res.rows[0]);
  }

  async list(): Promise<ScheduleRecord[]> {
    const res = await this.query<Row>({ text: `SELECT * FROM ${this.s}.schedules ORDER BY name` });
    return res.rows.map(scheduleFromRow);
  }

  async setPaused(name: string, paused: boolean, now: number): Promise<ScheduleRecord | undefined> {
    const res = await this.query<Row>({
      text: `UPDATE ${this.s}.schedules SET paused = $2, updated_at = $3 WHERE name = $1 RETURNING *`,
      values: [name, paused, now],
    });
    return res.rows[0] && scheduleFromRow(res.rows[0]);
  }

  async delete(name: string): Promise<boolean> {
    const res = await this.query({
      text: `DELETE FROM ${this.s}.schedules WHERE name = $1`,
      values: [name],
    });
    return (res.rowCount ?? 0) > 0;
  }

  async recordTick(name: string, tick: number, runId?: string): Promise<ScheduleRecord | undefined> {
    const res = await this.query<Row>({
      text: `UPDATE ${this.s}.schedules SET last_tick = $2, last_run_id = COALESCE($3, last_run_id)
             WHERE name = $1 AND last_tick <= $2 RETURNING *`,
      values: [name, tick, runId ?? null],
    });
    // A later tick was recorded already: the record stays as it is.
    return res.rows[0] ? scheduleFromRow(res.rows[0]) : this.get(name);
  }

  async putTrigger(event: string, workflowName: string, now: number): Promise<void> {
    checkScheduleName(event, "event name");
    await this.query({
      text: `INSERT INTO ${this.s}.event_triggers (event, workflow_name, created_at) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING`,
      values: [event, workflowName, now],
    });
  }

  async deleteTrigger(event: string, workflowName: string): Promise<boolean> {
    const res = await this.query({
      text: `DELETE FROM ${this.s}.event_triggers WHERE event = $1 AND workflow_name = $2`,
      values: [event, workflowName],
    });
    return (res.rowCount ?? 0) > 0;
  }

  async listTriggers(event?: string): Promise<EventTrigger[]> {
    const res = await this.query<Row>(
      event === undefined
        ? { text: `SELECT * FROM ${this.s}.event_triggers ORDER BY event, workflow_name` }
        : {
            text: `SELECT * FROM ${this.s}.event_triggers WHERE event = $1 ORDER BY workflow_name`,
            values: [event],
          },
    );
    return res.rows.map((r) => ({
      event: r.event as string,
      workflowName: r.workflow_name as string,
      createdAt: Number(r.created_at),
    }));
  }

  async hooksByTokenPrefix(prefix: string, limit = 1000): Promise<HookRecord[]> {
    // LIKE with the prefix's own wildcards escaped, so that the text_pattern_ops index of migration 8 serves it.
    const pattern = `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    const res = await this.query<Row>({
      text: `SELECT h.* FROM ${this.s}.hooks h JOIN ${this.s}.runs r ON r.run_id = h.run_id
             WHERE h.status = 'active' AND h.token LIKE $1 AND r.status NOT IN ('completed', 'failed', 'cancelled')
             ORDER BY h.token COLLATE "C" LIMIT $2`,
      values: [pattern, limit],
    });
    return res.rows.map(hookFromRow);
  }
}

function scheduleFromRow(row: Row): ScheduleRecord {
  const record: ScheduleRecord = {
    name: row.name as string,
    workflowName: row.workflow_name as string,
    cron: row.cron as string,
    args: row.args as string,
    overlap: row.overlap as ScheduleRecord["overlap"],
    catchUp: row.catch_up as ScheduleRecord["catchUp"],
    paused: row.paused === true,
    lastTick: Number(row.last_tick),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
  if (row.timezone !== null && row.timezone !== undefined) record.timezone = row.timezone as string;
  if (row.last_run_id !== null && row.last_run_id !== undefined) record.lastRunId = row.last_run_id as string;
  return record;
}
