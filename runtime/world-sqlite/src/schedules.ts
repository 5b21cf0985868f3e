/**
 * Schedules, event triggers and the hook prefix lookup of the SQLite world (tables of migration 3). A schedule is
 * stored as its JSON record; an upsert or a tick reads and writes it inside one write transaction, so the rules of
 * `@wfkit/world`'s schedules.ts (`mergeSchedule`, `advanceTick`) apply atomically across processes.
 */
import {
  advanceTick,
  checkScheduleName,
  type EventTrigger,
  type HookRecord,
  hooksWithPrefix,
  mergeSchedule,
  type ScheduleDefinition,
  type ScheduleRecord,
} from "@wfkit/world";
import type Database from "better-sqlite3";
import type { Connection } from "./connection.js";

export class SqliteSchedules {
  private readonly q: ReturnType<typeof statements>;

  constructor(private readonly c: Connection) {
    this.q = statements(c.db);
  }

  put(def: ScheduleDefinition, now: number): Promise<ScheduleRecord> {
    checkScheduleName(def.name);
    return this.c.write(`Storing schedule ${def.name}`, () => {
      const record = mergeSchedule(this.load(def.name), def, now);
      this.q.upsert.run(record.name, JSON.stringify(record));
      return record;
    });
  }

  get(name: string): Promise<ScheduleRecord | undefined> {
    return this.c.read(`Reading schedule ${name}`, () => this.load(name));
  }

  list(): Promise<ScheduleRecord[]> {
    return this.c.read("Listing schedules", () =>
      (this.q.all.all() as string[]).map((r) => JSON.parse(r) as ScheduleRecord),
    );
  }

  setPaused(name: string, paused: boolean, now: number): Promise<ScheduleRecord | undefined> {
    return this.change(name, (r) => ({ ...r, paused, updatedAt: now }));
  }

  async delete(name: string): Promise<boolean> {
    return this.c.write(`Deleting schedule ${name}`, () => this.q.delete.run(name).changes > 0);
  }

  recordTick(name: string, tick: number, runId?: string): Promise<ScheduleRecord | undefined> {
    return this.change(name, (r) => advanceTick(r, tick, runId));
  }

  putTrigger(event: string, workflowName: string, now: number): Promise<void> {
    checkScheduleName(event, "event name");
    return this.c.write(`Registering a trigger of ${event}`, () => {
      this.q.putTrigger.run(event, workflowName, now);
    });
  }

  deleteTrigger(event: string, workflowName: string): Promise<boolean> {
    return this.c.write(
      `Removing a trigger of ${event}`,
      () => this.q.deleteTrigger.run(event, workflowName).changes > 0,
    );
  }

  listTriggers(event?: string): Promise<EventTrigger[]> {
    return this.c.read("Listing event triggers", () => {
      const rows = (event === undefined ? this.q.allTriggers.all() : this.q.triggersOf.all(event)) as {
        event: string;
        workflow_name: string;
        created_at: number;
      }[];
      return rows.map((r) => ({ event: r.event, workflowName: r.workflow_name, createdAt: r.created_at }));
    });
  }

  hooksByTokenPrefix(prefix: string, limit?: number): Promise<HookRecord[]> {
    return this.c.read("Listing hooks by token prefix", () => {
      // A range over the token index: every string that starts with `prefix` sorts between it and prefix + U+FFFF.
      const rows = this.q.hooksInRange.all(prefix, `${prefix}\uffff`) as string[];
      return hooksWithPrefix(
        rows.map((r) => JSON.parse(r) as HookRecord),
        prefix,
        limit,
      );
    });
  }

  private load(name: string): ScheduleRecord | undefined {
    const row = this.q.get.get(name) as string | undefined;
    return row === undefined ? undefined : (JSON.parse(row) as ScheduleRecord);
  }

  private change(
    name: string,
    fn: (r: ScheduleRecord) => ScheduleRecord,
  ): Promise<ScheduleRecord | undefined> {
    return this.c.write(`Updating schedule ${name}`, () => {
      const record = this.load(name);
      if (!record) return undefined;
      const next = fn(record);
      if (next !== record) this.q.upsert.run(name, JSON.stringify(next));
      return next;
    });
  }
}

function statements(db: Database.Database) {
  return {
    get: db.prepare("SELECT record FROM schedules WHERE name = ?").pluck(),
    all: db.prepare("SELECT record FROM schedules ORDER BY name").pluck(),
    upsert: db.prepare(
      "INSERT INTO schedules (name, record) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET record = excluded.record",
    ),
    delete: db.prepare("DELETE FROM schedules WHERE name = ?"),
    putTrigger: db.prepare(
      "INSERT INTO event_triggers (event, workflow_name, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
    ),
    deleteTrigger: db.prepare("DELETE FROM event_triggers WHERE event = ? AND workflow_name = ?"),
    allTriggers: db.prepare("SELECT * FROM event_triggers ORDER BY event, workflow_name"),
    triggersOf: db.prepare("SELECT * FROM event_triggers WHERE event = ? ORDER BY workflow_name"),
    hooksInRange: db
      .prepare(
        `SELECT h.record FROM hooks h JOIN runs r ON r.run_id = h.run_id
         WHERE h.active = 1 AND h.token >= ? AND h.token < ? AND r.finished = 0`,
      )
      .pluck(),
  };
}
