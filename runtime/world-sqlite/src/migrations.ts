/**
 * The schema, as versioned migrations applied in order when a world opens the database file. Each version runs
 * once, in one `BEGIN IMMEDIATE` transaction together with its `schema_migrations` row, so processes that open
 * the same file at the same moment serialise on SQLite's write lock and the second one finds nothing to do.
 * Migrations are append-only: a released version is never edited, a change is a new version.
 *
 * Rows are stored as the JSON of the records the shared materialiser (`@wfkit/world`) produces, next to the few
 * columns that queries filter or sort on. New record fields (from event types added later) are therefore stored
 * without a migration; only a new query needs a new column or index.
 */

import { WorldError } from "@wfkit/world";
import type Database from "better-sqlite3";

export interface Migration {
  version: number;
  description: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "runs, events, rows, deliveries, streams, step tasks, counters and the change feed",
    sql: `
      CREATE TABLE runs (
        run_id TEXT PRIMARY KEY,
        workflow_name TEXT NOT NULL,
        status TEXT NOT NULL,
        finished INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        last_seq INTEGER NOT NULL,
        wake_at INTEGER,
        input TEXT NOT NULL,
        record TEXT NOT NULL,
        lease_owner TEXT,
        lease_token INTEGER NOT NULL DEFAULT 0,
        lease_expires_at INTEGER,
        lease_held INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX runs_by_created ON runs (created_at, run_id);
      CREATE INDEX runs_by_status ON runs (status, created_at, run_id);
      CREATE INDEX runs_by_workflow ON runs (workflow_name, created_at, run_id);
      CREATE INDEX runs_by_wake ON runs (wake_at, run_id) WHERE wake_at IS NOT NULL AND finished = 0;
      CREATE INDEX runs_by_lease_expiry ON runs (lease_expires_at, run_id) WHERE lease_held = 1 AND finished = 0;

      CREATE TABLE events (
        run_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        type TEXT NOT NULL,
        correlation_id TEXT,
        created_at INTEGER NOT NULL,
        data TEXT,
        PRIMARY KEY (run_id, seq)
      ) WITHOUT ROWID;

      CREATE TABLE steps (
        run_id TEXT NOT NULL,
        step_id TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        record TEXT NOT NULL,
        PRIMARY KEY (run_id, step_id)
      ) WITHOUT ROWID;

      CREATE TABLE waits (
        run_id TEXT NOT NULL,
        wait_id TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        record TEXT NOT NULL,
        PRIMARY KEY (run_id, wait_id)
      ) WITHOUT ROWID;

      CREATE TABLE hooks (
        run_id TEXT NOT NULL,
        hook_id TEXT NOT NULL,
        token TEXT NOT NULL,
        active INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        record TEXT NOT NULL,
        PRIMARY KEY (run_id, hook_id)
      ) WITHOUT ROWID;
      -- The last line of defence for token uniqueness among live hooks (the append checks first and says who holds it).
      CREATE UNIQUE INDEX hooks_live_token ON hooks (token) WHERE active = 1;

      CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY, -- the order recorded: a new row's ID is larger than every stored one
        run_id TEXT NOT NULL,
        delivery_id TEXT NOT NULL,
        correlation_id TEXT NOT NULL,
        payload TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        pending INTEGER NOT NULL,
        UNIQUE (run_id, delivery_id)
      );
      CREATE INDEX deliveries_pending ON deliveries (run_id, id) WHERE pending = 1;

      CREATE TABLE streams (
        run_id TEXT NOT NULL,
        name TEXT NOT NULL,
        next_index INTEGER NOT NULL,
        closed INTEGER NOT NULL,
        PRIMARY KEY (run_id, name)
      ) WITHOUT ROWID;
      CREATE TABLE stream_chunks (
        run_id TEXT NOT NULL,
        name TEXT NOT NULL,
        idx INTEGER NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (run_id, name, idx)
      ) WITHOUT ROWID;

      CREATE TABLE step_tasks (
        run_id TEXT NOT NULL,
        correlation_id TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        step_name TEXT NOT NULL,
        input TEXT NOT NULL,
        run_started_at INTEGER NOT NULL,
        status TEXT NOT NULL,
        offer_order INTEGER NOT NULL,
        claim_owner TEXT,
        claim_token INTEGER,
        claim_expires_at INTEGER,
        outcome TEXT,
        PRIMARY KEY (run_id, correlation_id)
      ) WITHOUT ROWID;
      CREATE INDEX step_tasks_claimable ON step_tasks (offer_order) WHERE status <> 'completed';

      -- Monotonic counters shared by every process (claim fencing tokens, offer order).
      CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;

      -- The change feed: every write that others may wait for adds a row in its own transaction; other processes
      -- read the rows after the last ID they saw (see change-feed.ts). A new row's ID is the largest one plus one,
      -- and pruning never removes the newest row, so IDs are dense and never reused: a reader can tell when rows
      -- it had not read were pruned. (AUTOINCREMENT would guarantee the same at the cost of a page write per row.)
      CREATE TABLE changes (
        id INTEGER PRIMARY KEY,
        origin TEXT NOT NULL,
        topic TEXT NOT NULL,
        payload TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
    `,
  },
  {
    version: 2,
    description: "flow gates (concurrency keys, throttles, debounces)",
    sql: `
      -- One row per flow gate: engine-made JSON, replaced inside a write transaction (updateFlowGate).
      CREATE TABLE flow_gates (
        gate_id TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        version INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 3,
    description: "schedules and event triggers",
    sql: `
      CREATE TABLE schedules (name TEXT PRIMARY KEY, record TEXT NOT NULL) WITHOUT ROWID;
      CREATE TABLE event_triggers (
        event TEXT NOT NULL,
        workflow_name TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (event, workflow_name)
      ) WITHOUT ROWID;
    `,
  },
];

export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** What `migrate` did: the version found and the versions it applied. */
export interface MigrateResult {
  from: number;
  applied: number[];
}

/**
 * Brings the database to `LATEST_VERSION`. Synchronous and inside one write transaction: the caller retries it
 * when another process holds the write lock (`SQLITE_BUSY`).
 */
export function migrate(db: Database.Database, path: string): MigrateResult {
  return db
    .transaction((): MigrateResult => {
      db.exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
      );
      const from = currentVersion(db);
      if (from > LATEST_VERSION) {
        throw new WorldError(
          "SCHEMA_TOO_NEW",
          `The SQLite database ${path} is at schema version ${from}, but this @wfkit/world-sqlite only knows ` +
            `versions up to ${LATEST_VERSION}: a newer version of the package wrote it. Upgrade @wfkit/world-sqlite ` +
            "in this app, or point WORKFLOW_SQLITE_PATH at another file.",
        );
      }
      const applied: number[] = [];
      const record = db.prepare("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)");
      for (const m of MIGRATIONS) {
        if (m.version <= from) continue;
        db.exec(m.sql);
        record.run(m.version, Date.now());
        applied.push(m.version);
      }
      return { from, applied };
    })
    .immediate();
}

export function currentVersion(db: Database.Database): number {
  const row = db.prepare("SELECT max(version) AS v FROM schema_migrations").get() as { v: number | null };
  return row.v ?? 0;
}
