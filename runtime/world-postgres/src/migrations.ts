/**
 * Versioned schema migrations. Each migration is SQL for one schema, applied once, in order, inside one
 * transaction together with its row in `<schema>.schema_migrations`; an advisory lock keyed by the schema
 * makes concurrent migrators (many workers starting at once) take turns, so running `migrate` any number
 * of times from any number of processes leaves the schema at the latest version exactly once.
 *
 * Migrations are append-only: never edit one that has shipped, add the next version instead.
 */
import pg from "pg";
import { cannotConnect, isCutOff, retryWhenCutOff } from "./pg-errors.js";
import { channelOf, checkSchemaName, DEFAULT_SCHEMA, quoted } from "./schema-name.js";

export interface Migration {
  version: number;
  name: string;
  /** SQL for the given (already validated) schema. */
  sql(schema: string): string;
}

export interface MigrateResult {
  schema: string;
  /** Versions this call applied (empty when the schema was already current). */
  applied: number[];
  /** The schema's version afterwards. */
  version: number;
}

const TERMINAL = "('completed', 'failed', 'cancelled')";

/** Columns of `runs` that follow from the event log (everything but the lease). */
export const RUN_ROW_COLUMNS = [
  "run_id",
  "workflow_name",
  "status",
  "input",
  "output",
  "error",
  "cancel_reason",
  "deployment_id",
  "metadata",
  "created_at",
  "started_at",
  "completed_at",
  "updated_at",
  "last_seq",
  "wake_at",
] as const;

const updateSet = (columns: readonly string[], skip: string[]) =>
  columns
    .filter((c) => !skip.includes(c))
    .map((c) => `${c} = excluded.${c}`)
    .join(", ");

const STEP_COLUMNS = [
  "run_id",
  "step_id",
  "step_name",
  "status",
  "attempt",
  "input",
  "output",
  "error",
  "retry_at",
  "created_at",
  "started_at",
  "completed_at",
  "updated_at",
];
const WAIT_COLUMNS = ["run_id", "wait_id", "resume_at", "status", "created_at", "completed_at"];
const HOOK_COLUMNS = [
  "run_id",
  "hook_id",
  "token",
  "kind",
  "metadata",
  "options",
  "status",
  "created_at",
  "disposed_at",
];

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "runs, events, steps, waits, hooks, leases and the append functions",
    sql: (schema) => {
      const s = quoted(schema);
      const channel = channelOf(schema);
      const runCols = RUN_ROW_COLUMNS.join(", ");
      // IDs use the "C" collation: byte order, like JavaScript's string comparison, so listings sort
      // the same as in the other worlds (and comparisons are cheaper than under a locale).
      return `
CREATE TABLE ${s}.runs (
  run_id text COLLATE "C" PRIMARY KEY,
  workflow_name text COLLATE "C" NOT NULL,
  status text NOT NULL,
  input text NOT NULL,
  output text,
  error text,
  cancel_reason text,
  deployment_id text,
  metadata jsonb,
  created_at bigint NOT NULL,
  started_at bigint,
  completed_at bigint,
  updated_at bigint NOT NULL,
  last_seq integer NOT NULL,
  wake_at bigint,
  lease_owner text,
  lease_token bigint NOT NULL DEFAULT 0,
  lease_expires_at bigint,
  lease_held boolean NOT NULL DEFAULT false
);
CREATE INDEX runs_by_created ON ${s}.runs (created_at, run_id);
CREATE INDEX runs_by_workflow ON ${s}.runs (workflow_name, created_at, run_id);
CREATE INDEX runs_by_status ON ${s}.runs (status, created_at, run_id);
CREATE INDEX runs_by_wake ON ${s}.runs (wake_at, run_id) WHERE wake_at IS NOT NULL;

-- The primary key is what makes a forked log impossible: two writers cannot both store seq n.
-- No foreign key to runs: appends already hold the run row locked, and the check would cost a lookup
-- per event.
CREATE TABLE ${s}.events (
  run_id text COLLATE "C" NOT NULL,
  seq integer NOT NULL,
  type text NOT NULL,
  correlation_id text,
  data json,
  created_at bigint NOT NULL,
  PRIMARY KEY (run_id, seq)
);

CREATE TABLE ${s}.steps (
  run_id text COLLATE "C" NOT NULL,
  step_id text COLLATE "C" NOT NULL,
  step_name text NOT NULL,
  status text NOT NULL,
  attempt integer NOT NULL,
  input text NOT NULL,
  output text,
  error text,
  retry_at bigint,
  created_at bigint NOT NULL,
  started_at bigint,
  completed_at bigint,
  updated_at bigint NOT NULL,
  PRIMARY KEY (run_id, step_id)
);

CREATE TABLE ${s}.waits (
  run_id text COLLATE "C" NOT NULL,
  wait_id text COLLATE "C" NOT NULL,
  resume_at bigint NOT NULL,
  status text NOT NULL,
  created_at bigint NOT NULL,
  completed_at bigint,
  PRIMARY KEY (run_id, wait_id)
);

CREATE TABLE ${s}.hooks (
  run_id text COLLATE "C" NOT NULL,
  hook_id text COLLATE "C" NOT NULL,
  token text NOT NULL,
  kind text NOT NULL,
  metadata text,
  options text,
  status text NOT NULL,
  created_at bigint NOT NULL,
  disposed_at bigint,
  PRIMARY KEY (run_id, hook_id)
);
-- Token uniqueness among live hooks is this constraint, not a check-then-write in application code.
CREATE UNIQUE INDEX hooks_live_token ON ${s}.hooks (token) WHERE status = 'active';

-- Lease expiry is judged by the database's clock, the one clock every worker shares.
CREATE FUNCTION ${s}.now_ms() RETURNS bigint LANGUAGE sql VOLATILE
AS $$ SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint $$;

CREATE FUNCTION ${s}.create_run(p_row jsonb, p_events json, p_notify text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO ${s}.runs (${runCols})
  SELECT ${runCols} FROM jsonb_populate_record(null::${s}.runs, p_row)
  ON CONFLICT (run_id) DO NOTHING;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  INSERT INTO ${s}.events (run_id, seq, type, correlation_id, data, created_at)
  SELECT p_row->>'run_id', e.seq, e.type, e.correlation_id, e.data, e.created_at
  FROM json_to_recordset(p_events) AS e(seq integer, type text, correlation_id text, data json, created_at bigint);
  PERFORM pg_notify('${channel}', p_notify);
  RETURN true;
END $$;

-- One append = one call = one transaction: lock the run row, check lease, end and head, store the
-- events, upsert the rows the shared materialiser computed, move the run row, notify.
CREATE FUNCTION ${s}.append_events(
  p_run_id text, p_expected_seq integer, p_lease_owner text, p_lease_token bigint,
  p_rows jsonb, p_events json, p_notify text,
  OUT code text, OUT actual_seq integer, OUT run_status text
) LANGUAGE plpgsql AS $$
DECLARE
  cur record;
BEGIN
  SELECT r.last_seq, r.status, r.lease_owner, r.lease_token, r.lease_expires_at, r.lease_held
    INTO cur FROM ${s}.runs r WHERE r.run_id = p_run_id FOR UPDATE;
  IF NOT FOUND THEN
    code := 'not_found';
    RETURN;
  END IF;
  actual_seq := cur.last_seq;
  run_status := cur.status;
  IF p_lease_owner IS NOT NULL AND NOT (cur.lease_held AND cur.lease_owner = p_lease_owner
      AND cur.lease_token = p_lease_token AND cur.lease_expires_at > ${s}.now_ms()) THEN
    code := 'lease_lost';
    RETURN;
  END IF;
  IF cur.status IN ${TERMINAL} THEN
    code := 'finished';
    RETURN;
  END IF;
  IF cur.last_seq <> p_expected_seq THEN
    code := 'conflict';
    RETURN;
  END IF;

  INSERT INTO ${s}.events (run_id, seq, type, correlation_id, data, created_at)
  SELECT p_run_id, e.seq, e.type, e.correlation_id, e.data, e.created_at
  FROM json_to_recordset(p_events) AS e(seq integer, type text, correlation_id text, data json, created_at bigint);

  IF p_rows ? 'steps' THEN
    INSERT INTO ${s}.steps SELECT * FROM jsonb_populate_recordset(null::${s}.steps, p_rows->'steps')
    ON CONFLICT (run_id, step_id) DO UPDATE SET ${updateSet(STEP_COLUMNS, ["run_id", "step_id"])};
  END IF;
  IF p_rows ? 'waits' THEN
    INSERT INTO ${s}.waits SELECT * FROM jsonb_populate_recordset(null::${s}.waits, p_rows->'waits')
    ON CONFLICT (run_id, wait_id) DO UPDATE SET ${updateSet(WAIT_COLUMNS, ["run_id", "wait_id"])};
  END IF;
  IF p_rows ? 'hooks' THEN
    -- Rows arrive released-first, so a token freed earlier in the batch is free when it is taken again.
    INSERT INTO ${s}.hooks SELECT * FROM jsonb_populate_recordset(null::${s}.hooks, p_rows->'hooks')
    ON CONFLICT (run_id, hook_id) DO UPDATE SET ${updateSet(HOOK_COLUMNS, ["run_id", "hook_id"])};
  END IF;

  UPDATE ${s}.runs r SET ${RUN_ROW_COLUMNS.filter((c) => c !== "run_id")
    .map((c) => `${c} = n.${c}`)
    .join(", ")}
  FROM jsonb_populate_record(null::${s}.runs, p_rows->'run') n
  WHERE r.run_id = p_run_id;

  PERFORM pg_notify('${channel}', p_notify);
  code := 'ok';
  actual_seq := (p_rows->'run'->>'last_seq')::integer;
  run_status := p_rows->'run'->>'status';
END $$;
`;
    },
  },
  {
    version: 2,
    name: "run output streams: stream rows, chunks and write_stream",
    sql: (schema) => {
      const s = quoted(schema);
      const channel = channelOf(schema);
      return `
-- One row per stream: the next chunk's index and the closed flag. Writers lock it (the upsert in
-- write_stream), so concurrent writers to one stream are serialised and its chunk indexes stay dense.
-- No foreign key to runs: the key-share lock of the check would make a stream write wait for an append
-- that holds the run row; write_stream checks the run exists instead (runs are never deleted).
CREATE TABLE ${s}.streams (
  run_id text COLLATE "C" NOT NULL,
  name text COLLATE "C" NOT NULL,
  next_index integer NOT NULL,
  closed boolean NOT NULL,
  PRIMARY KEY (run_id, name)
);

-- write_id names the write_stream call that stored the chunk: a call resent after a broken connection
-- finds its chunks by it and is not applied twice.
CREATE TABLE ${s}.stream_chunks (
  run_id text COLLATE "C" NOT NULL,
  name text COLLATE "C" NOT NULL,
  idx integer NOT NULL,
  data text NOT NULL,
  write_id text NOT NULL,
  PRIMARY KEY (run_id, name, idx)
);

-- One write = one call = one transaction: lock (or create) the stream row, refuse a closed stream, number
-- and store the chunks, notify.
CREATE FUNCTION ${s}.write_stream(
  p_run_id text, p_name text, p_chunks text[], p_close boolean, p_write_id text, p_resent boolean,
  p_notify text, OUT code text, OUT next_idx integer
) LANGUAGE plpgsql AS $$
DECLARE
  n integer := coalesce(array_length(p_chunks, 1), 0);
  stored integer;
  was_closed boolean;
BEGIN
  PERFORM 1 FROM ${s}.runs r WHERE r.run_id = p_run_id;
  IF NOT FOUND THEN
    code := 'not_found';
    RETURN;
  END IF;
  IF p_resent THEN
    -- An earlier attempt may still be running on the server: it holds the stream row until it commits, so
    -- take the row lock first (creating an empty, open row changes nothing a reader sees), then look.
    INSERT INTO ${s}.streams AS st (run_id, name, next_index, closed) VALUES (p_run_id, p_name, 0, false)
    ON CONFLICT (run_id, name) DO UPDATE SET closed = st.closed WHERE false;
    SELECT max(c.idx) + 1 INTO stored FROM ${s}.stream_chunks c
      WHERE c.run_id = p_run_id AND c.name = p_name AND c.write_id = p_write_id;
    IF stored IS NOT NULL THEN
      code := 'ok';
      next_idx := stored;
      RETURN;
    END IF;
    IF n = 0 AND p_close THEN
      -- A bare close leaves no chunk to find: a closed stream means it committed.
      SELECT st.closed, st.next_index INTO was_closed, stored FROM ${s}.streams st
        WHERE st.run_id = p_run_id AND st.name = p_name;
      IF was_closed THEN
        code := 'ok';
        next_idx := stored;
        RETURN;
      END IF;
    END IF;
  END IF;

  INSERT INTO ${s}.streams AS st (run_id, name, next_index, closed)
  VALUES (p_run_id, p_name, n, p_close)
  ON CONFLICT (run_id, name) DO UPDATE SET next_index = st.next_index + n, closed = p_close
    WHERE NOT st.closed
  RETURNING st.next_index INTO next_idx;
  IF NOT FOUND THEN
    code := 'closed';
    RETURN;
  END IF;

  INSERT INTO ${s}.stream_chunks (run_id, name, idx, data, write_id)
  SELECT p_run_id, p_name, (next_idx - n + c.ord - 1)::integer, c.data, p_write_id
  FROM unnest(p_chunks) WITH ORDINALITY AS c(data, ord);

  IF n > 0 OR p_close THEN
    PERFORM pg_notify('${channel}', p_notify);
  END IF;
  code := 'ok';
END $$;
`;
    },
  },
  {
    version: 3,
    name: "step tasks: steps offered by a run's executor to any worker",
    sql: (schema) => {
      const s = quoted(schema);
      return `
-- One row per offered step (a newer attempt replaces the row). Workers claim rows with FOR UPDATE SKIP
-- LOCKED; the executor reads the outcome and appends it to the log itself, then deletes the row.
-- No foreign key to runs, as for events: offers check that the run exists instead.
CREATE TABLE ${s}.step_tasks (
  run_id text COLLATE "C" NOT NULL,
  correlation_id text COLLATE "C" NOT NULL,
  attempt integer NOT NULL,
  step_name text NOT NULL,
  input text NOT NULL,
  run_started_at bigint NOT NULL,
  offered_seq bigint NOT NULL,
  status text NOT NULL,
  claim_owner text,
  claim_token bigint,
  claim_expires_at bigint,
  outcome json,
  PRIMARY KEY (run_id, correlation_id)
);
-- Claims scan open tasks oldest offer first.
CREATE INDEX step_tasks_open ON ${s}.step_tasks (offered_seq) WHERE status <> 'completed';
-- Offer order, and claim tokens unique across every claim ever made (a fencing token that a removed and
-- re-offered task can never hand out twice).
CREATE SEQUENCE ${s}.step_task_offers;
CREATE SEQUENCE ${s}.step_task_claims;
`;
    },
  },
  {
    version: 4,
    name: "createRun takes the creator's lease, the append that ends a run releases it, group commit",
    sql: (schema) => {
      const s = quoted(schema);
      const channel = channelOf(schema);
      const runCols = RUN_ROW_COLUMNS.join(", ");
      return `
-- The process that starts a run executes it at once: the lease is taken in the insert (one round trip less).
CREATE FUNCTION ${s}.create_run(
  p_row jsonb, p_events json, p_notify text, p_lease_owner text, p_lease_ttl bigint,
  OUT created boolean, OUT lease_token bigint, OUT lease_expires_at bigint
) LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO ${s}.runs (${runCols}, lease_owner, lease_token, lease_expires_at, lease_held)
  SELECT ${runCols}, p_lease_owner, 1, ${s}.now_ms() + p_lease_ttl, true
  FROM jsonb_populate_record(null::${s}.runs, p_row)
  ON CONFLICT (run_id) DO NOTHING
  RETURNING runs.lease_token, runs.lease_expires_at INTO lease_token, lease_expires_at;
  created := FOUND;
  IF NOT created THEN
    RETURN;
  END IF;
  INSERT INTO ${s}.events (run_id, seq, type, correlation_id, data, created_at)
  SELECT p_row->>'run_id', e.seq, e.type, e.correlation_id, e.data, e.created_at
  FROM json_to_recordset(p_events) AS e(seq integer, type text, correlation_id text, data json, created_at bigint);
  PERFORM pg_notify('${channel}', p_notify);
END $$;

-- A run that ended needs no executor: the append that ends it frees the lease (the executor's own
-- releaseLease then costs no round trip). The WHEN clause keeps every other update of a run row free of it.
CREATE FUNCTION ${s}.release_lease_on_end() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.lease_held := false;
  RETURN NEW;
END $$;
CREATE TRIGGER runs_release_lease_on_end BEFORE UPDATE OF status ON ${s}.runs
  FOR EACH ROW WHEN (NEW.status IN ${TERMINAL} AND OLD.status NOT IN ${TERMINAL})
  EXECUTE FUNCTION ${s}.release_lease_on_end();

-- Group commit (group-commit.ts): appends of many runs in one transaction, in the order given (the caller
-- orders them by run ID, so concurrent batches lock runs in the same order). All or nothing.
CREATE FUNCTION ${s}.append_events_batch(p_batch json)
RETURNS TABLE (i integer, code text, actual_seq integer, run_status text) LANGUAGE plpgsql AS $$
DECLARE
  x record;
  a record;
BEGIN
  FOR x IN SELECT * FROM json_to_recordset(p_batch) AS t(
    i integer, run_id text, expected_seq integer, lease_owner text, lease_token bigint,
    rows jsonb, events json, notify text)
  LOOP
    SELECT * INTO a FROM ${s}.append_events(x.run_id, x.expected_seq, x.lease_owner, x.lease_token,
      x.rows, x.events, x.notify);
    i := x.i;
    code := a.code;
    actual_seq := a.actual_seq;
    run_status := a.run_status;
    RETURN NEXT;
  END LOOP;
END $$;

CREATE FUNCTION ${s}.create_runs_batch(p_batch json)
RETURNS TABLE (i integer, created boolean, lease_token bigint, lease_expires_at bigint) LANGUAGE plpgsql AS $$
DECLARE
  x record;
  c record;
BEGIN
  FOR x IN SELECT * FROM json_to_recordset(p_batch) AS t(
    i integer, run_row jsonb, events json, notify text, lease_owner text, lease_ttl bigint)
  LOOP
    i := x.i;
    IF x.lease_owner IS NULL THEN
      created := ${s}.create_run(x.run_row, x.events, x.notify);
      lease_token := NULL;
      lease_expires_at := NULL;
    ELSE
      SELECT * INTO c FROM ${s}.create_run(x.run_row, x.events, x.notify, x.lease_owner, x.lease_ttl);
      created := c.created;
      lease_token := c.lease_token;
      lease_expires_at := c.lease_expires_at;
    END IF;
    RETURN NEXT;
  END LOOP;
END $$;
`;
    },
  },
  {
    version: 5,
    name: "deliveries: events from outside a run, recorded without its lease until an append consumes them",
    sql: (schema) => {
      const s = quoted(schema);
      const channel = channelOf(schema);
      return `
-- One row per delivery (World.deliver). A consumed row stays (consumed = true) while its run is unfinished,
-- so a retried deliver of its ID is still a duplicate; the append that ends the run deletes the run's rows.
-- seq is the order recorded (created_at has ties). No foreign key to runs, as for events: deliver locks the
-- run row itself.
CREATE TABLE ${s}.deliveries (
  run_id text COLLATE "C" NOT NULL,
  delivery_id text COLLATE "C" NOT NULL,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  correlation_id text NOT NULL,
  payload text NOT NULL,
  created_at bigint NOT NULL,
  consumed boolean NOT NULL DEFAULT false,
  PRIMARY KEY (run_id, delivery_id)
);
-- listDeliveryRuns: pending deliveries, oldest first.
CREATE INDEX deliveries_pending ON ${s}.deliveries (created_at, run_id) WHERE NOT consumed;

-- One delivery = one call. The run row is locked FOR SHARE: deliveries to one run do not wait for each
-- other, an append (FOR UPDATE) waits at most for this short insert and vice versa, and a run that ends
-- either sees the delivery (and deletes it) or is seen as ended (and the delivery is refused).
CREATE FUNCTION ${s}.deliver(
  p_run_id text, p_delivery_id text, p_correlation_id text, p_payload text, p_notify text,
  OUT code text, OUT run_status text, OUT run_last_seq integer, OUT duplicate boolean,
  OUT d_correlation_id text, OUT d_payload text, OUT d_created_at bigint
) LANGUAGE plpgsql AS $$
BEGIN
  SELECT r.status, r.last_seq INTO run_status, run_last_seq FROM ${s}.runs r WHERE r.run_id = p_run_id FOR SHARE;
  IF NOT FOUND THEN
    code := 'not_found';
    RETURN;
  END IF;
  IF run_status IN ${TERMINAL} THEN
    code := 'finished';
    RETURN;
  END IF;
  INSERT INTO ${s}.deliveries AS d (run_id, delivery_id, correlation_id, payload, created_at)
  VALUES (p_run_id, p_delivery_id, p_correlation_id, p_payload, ${s}.now_ms())
  ON CONFLICT (run_id, delivery_id) DO NOTHING
  RETURNING d.correlation_id, d.payload, d.created_at INTO d_correlation_id, d_payload, d_created_at;
  duplicate := NOT FOUND;
  IF duplicate THEN
    SELECT d.correlation_id, d.payload, d.created_at INTO d_correlation_id, d_payload, d_created_at
    FROM ${s}.deliveries d WHERE d.run_id = p_run_id AND d.delivery_id = p_delivery_id;
  ELSE
    -- The caller's payload (its origin, the run ID as the caller wrote it) plus the run's head.
    PERFORM pg_notify('${channel}',
      (p_notify::jsonb || jsonb_build_object('lastSeq', run_last_seq, 'status', run_status))::text);
  END IF;
  code := 'ok';
END $$;

-- append_events for an append that consumes deliveries (the IDs its hook_received events name) or ends the
-- run: in the append's transaction, the deliveries are marked consumed, or all of the run's are deleted. Every
-- other append calls the 7-argument form and pays nothing for deliveries.
CREATE FUNCTION ${s}.append_events(
  p_run_id text, p_expected_seq integer, p_lease_owner text, p_lease_token bigint,
  p_rows jsonb, p_events json, p_notify text, p_consumed text[],
  OUT code text, OUT actual_seq integer, OUT run_status text
) LANGUAGE plpgsql AS $$
DECLARE
  a record;
BEGIN
  SELECT * INTO a FROM ${s}.append_events(p_run_id, p_expected_seq, p_lease_owner, p_lease_token,
    p_rows, p_events, p_notify);
  code := a.code;
  actual_seq := a.actual_seq;
  run_status := a.run_status;
  IF code <> 'ok' THEN
    RETURN;
  END IF;
  IF run_status IN ${TERMINAL} THEN
    DELETE FROM ${s}.deliveries d WHERE d.run_id = p_run_id;
  ELSIF p_consumed IS NOT NULL THEN
    UPDATE ${s}.deliveries d SET consumed = true
    WHERE d.run_id = p_run_id AND d.delivery_id = ANY(p_consumed) AND NOT d.consumed;
  END IF;
END $$;

-- The batch form: items with consumed IDs (an array, empty for an append that ends its run) take the form
-- above; items without (and items from code older than this migration) the plain one.
CREATE OR REPLACE FUNCTION ${s}.append_events_batch(p_batch json)
RETURNS TABLE (i integer, code text, actual_seq integer, run_status text) LANGUAGE plpgsql AS $$
DECLARE
  x record;
  a record;
BEGIN
  FOR x IN SELECT * FROM json_to_recordset(p_batch) AS t(
    i integer, run_id text, expected_seq integer, lease_owner text, lease_token bigint,
    rows jsonb, events json, notify text, consumed text[])
  LOOP
    IF x.consumed IS NULL THEN
      SELECT * INTO a FROM ${s}.append_events(x.run_id, x.expected_seq, x.lease_owner, x.lease_token,
        x.rows, x.events, x.notify);
    ELSE
      SELECT * INTO a FROM ${s}.append_events(x.run_id, x.expected_seq, x.lease_owner, x.lease_token,
        x.rows, x.events, x.notify, x.consumed);
    END IF;
    i := x.i;
    code := a.code;
    actual_seq := a.actual_seq;
    run_status := a.run_status;
    RETURN NEXT;
  END LOOP;
END $$;
`;
    },
  },
  {
    version: 6,
    name: "retries of failed runs (run_retried) and abandoned-lease listing",
    sql: (schema) => {
      const s = quoted(schema);
      const channel = channelOf(schema);
      return `
-- listAbandoned: unfinished runs whose lease expired while held (their executor died with work in flight).
CREATE INDEX runs_abandoned ON ${s}.runs (lease_expires_at) WHERE lease_held AND status IN ('pending', 'running');

-- The 7-argument append_events of migration 1, accepting a retry of a failed run (checkAppendable).
CREATE OR REPLACE FUNCTION ${s}.append_events(
  p_run_id text, p_expected_seq integer, p_lease_owner text, p_lease_token bigint,
  p_rows jsonb, p_events json, p_notify text,
  OUT code text, OUT actual_seq integer, OUT run_status text
) LANGUAGE plpgsql AS $$
DECLARE
  cur record;
BEGIN
  SELECT r.last_seq, r.status, r.lease_owner, r.lease_token, r.lease_expires_at, r.lease_held
    INTO cur FROM ${s}.runs r WHERE r.run_id = p_run_id FOR UPDATE;
  IF NOT FOUND THEN
    code := 'not_found';
    RETURN;
  END IF;
  actual_seq := cur.last_seq;
  run_status := cur.status;
  IF p_lease_owner IS NOT NULL AND NOT (cur.lease_held AND cur.lease_owner = p_lease_owner
      AND cur.lease_token = p_lease_token AND cur.lease_expires_at > ${s}.now_ms()) THEN
    code := 'lease_lost';
    RETURN;
  END IF;
  -- Nothing follows a run's end, except a retry (run_retried first in the batch) of a failed run.
  IF cur.status IN ${TERMINAL} AND NOT (cur.status = 'failed' AND (p_events->0->>'type') = 'run_retried') THEN
    code := 'finished';
    RETURN;
  END IF;
  IF cur.last_seq <> p_expected_seq THEN
    code := 'conflict';
    RETURN;
  END IF;

  INSERT INTO ${s}.events (run_id, seq, type, correlation_id, data, created_at)
  SELECT p_run_id, e.seq, e.type, e.correlation_id, e.data, e.created_at
  FROM json_to_recordset(p_events) AS e(seq integer, type text, correlation_id text, data json, created_at bigint);

  IF p_rows ? 'steps' THEN
    INSERT INTO ${s}.steps SELECT * FROM jsonb_populate_recordset(null::${s}.steps, p_rows->'steps')
    ON CONFLICT (run_id, step_id) DO UPDATE SET ${updateSet(STEP_COLUMNS, ["run_id", "step_id"])};
  END IF;
  IF p_rows ? 'waits' THEN
    INSERT INTO ${s}.waits SELECT * FROM jsonb_populate_recordset(null::${s}.waits, p_rows->'waits')
    ON CONFLICT (run_id, wait_id) DO UPDATE SET ${updateSet(WAIT_COLUMNS, ["run_id", "wait_id"])};
  END IF;
  IF p_rows ? 'hooks' THEN
    -- Rows arrive released-first, so a token freed earlier in the batch is free when it is taken again.
    INSERT INTO ${s}.hooks SELECT * FROM jsonb_populate_recordset(null::${s}.hooks, p_rows->'hooks')
    ON CONFLICT (run_id, hook_id) DO UPDATE SET ${updateSet(HOOK_COLUMNS, ["run_id", "hook_id"])};
  END IF;

  UPDATE ${s}.runs r SET ${RUN_ROW_COLUMNS.filter((c) => c !== "run_id")
    .map((c) => `${c} = n.${c}`)
    .join(", ")}
  FROM jsonb_populate_record(null::${s}.runs, p_rows->'run') n
  WHERE r.run_id = p_run_id;

  PERFORM pg_notify('${channel}', p_notify);
  code := 'ok';
  actual_seq := (p_rows->'run'->>'last_seq')::integer;
  run_status := p_rows->'run'->>'status';
END $$;
`;
    },
  },
  {
    version: 7,
    name: "flow gates (concurrency keys, throttles, debounces)",
    sql: (schema) => {
      const s = quoted(schema);
      return `
-- One row per flow gate: engine-made JSON, changed by compare-and-set on version (updateFlowGate).
CREATE TABLE ${s}.flow_gates (
  gate_id text PRIMARY KEY,
  state text NOT NULL,
  version bigint NOT NULL,
  updated_at bigint NOT NULL
);
`;
    },
  },
  {
    version: 8,
    name: "schedules, event triggers and the live hook token prefix index",
    sql: (schema) => {
      const s = quoted(schema);
      return `
CREATE TABLE ${s}.schedules (
  name text COLLATE "C" PRIMARY KEY,
  workflow_name text NOT NULL,
  cron text NOT NULL,
  timezone text,
  args text NOT NULL,
  overlap text NOT NULL,
  catch_up text NOT NULL,
  paused boolean NOT NULL DEFAULT false,
  last_tick bigint NOT NULL,
  last_run_id text,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL
);

CREATE TABLE ${s}.event_triggers (
  event text COLLATE "C" NOT NULL,
  workflow_name text COLLATE "C" NOT NULL,
  created_at bigint NOT NULL,
  PRIMARY KEY (event, workflow_name)
);

-- emit(): the live hooks of waitForEvent() share a token prefix naming the event (LIKE 'prefix%').
CREATE INDEX hooks_live_token_prefix ON ${s}.hooks (token text_pattern_ops) WHERE status = 'active';
`;
    },
  },
];

export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/**
 * Brings `schema` to the latest version. Safe to run any number of times, concurrently; started over when the
 * server ends the session meanwhile (each migration is one transaction).
 */
export async function migrate(url: string, schema: string = DEFAULT_SCHEMA): Promise<MigrateResult> {
  checkSchemaName(schema);
  return retryWhenCutOff(url, "migrating", async () => {
    const client = new pg.Client({ connectionString: url, application_name: "wfkit-migrate" });
    // A session the server ends between two queries is reported as an 'error' event, which would crash the
    // process unheard; the query in flight (or the next) fails with it anyway.
    client.on("error", () => {});
    await client.connect().catch((error: unknown) => {
      throw isCutOff(error) ? error : cannotConnect(url, error);
    });
    try {
      return await migrateWith(client, schema);
    } finally {
      await client.end().catch(() => {});
    }
  });
}

/** `migrate` on a connection the caller owns (it must not be inside a transaction). */
export async function migrateWith(client: pg.ClientBase, schema: string): Promise<MigrateResult> {
  checkSchemaName(schema);
  const s = quoted(schema);
  // Most starts find the schema current: answer that without taking the lock.
  const current = await currentVersion(client, schema);
  if (current >= LATEST_VERSION) return { schema, applied: [], version: current };

  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`wfkit:migrate:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${s}.schema_migrations (
         version integer PRIMARY KEY,
         name text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const { rows } = await client.query<{ version: number }>(`SELECT version FROM ${s}.schema_migrations`);
    const done = new Set(rows.map((r) => r.version));
    const applied: number[] = [];
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      await client.query(m.sql(schema));
      await client.query(`INSERT INTO ${s}.schema_migrations (version, name) VALUES ($1, $2)`, [
        m.version,
        m.name,
      ]);
      applied.push(m.version);
    }
    await client.query("COMMIT");
    return { schema, applied, version: Math.max(0, ...done, ...applied) };
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  }
}

/** The schema's version (every migration up to it applied), 0 when it has never been migrated. */
export async function currentVersion(client: pg.ClientBase, schema: string): Promise<number> {
  const s = quoted(schema);
  const { rows } = await client.query<{ exists: boolean }>("SELECT to_regclass($1) IS NOT NULL AS exists", [
    `${s}.schema_migrations`,
  ]);
  if (!rows[0]?.exists) return 0;
  // Versions are dense from 1, so the count is the version up to which every migration ran: a schema that got a
  // later version before an earlier one existed (migrations written in parallel) still counts as behind.
  const res = await client.query<{ version: number | null }>(
    `SELECT count(*)::integer AS version FROM ${s}.schema_migrations`,
  );
  return res.rows[0]?.version ?? 0;
}
