/**
 * The world's three grouped calls (see group-commit.ts): appends, run creations and reads of run rows.
 * Each pairs the single-item statement with its batch form from migration 4.
 */
import type pg from "pg";
import type { AppendOutcome, CreateOutcome } from "./append-batch.js";
import { CallGroup } from "./group-commit.js";
import type { Row } from "./rows.js";
import { toJson } from "./text-codec.js";

/** The parameters of one `append_events` call, in its argument order. */
export type AppendParams = [
  runId: string,
  expectedSeq: number,
  leaseOwner: string | null,
  leaseToken: number | null,
  rowsJson: string,
  eventsJson: string,
  notify: string,
  /** Delivery IDs the append consumes (empty when it only ends the run), or null: it touches no deliveries. */
  consumed: string[] | null,
];

/** One `create_run` call: the run row and its events as JSON text, and the creator's lease if wanted. */
export interface CreateParams {
  runId: string;
  rowJson: string;
  eventsJson: string;
  notify: string;
  lease?: { owner: string; ttlMs: number };
}

export function appendCalls(pool: pg.Pool, s: string, maxInFlight: number) {
  return new CallGroup<AppendParams, AppendOutcome | undefined>({
    pool,
    maxInFlight,
    runIdOf: (p) => p[0],
    one: (values) =>
      values[7] === null
        ? {
            name: "append_events",
            text: `SELECT code, actual_seq, run_status FROM ${s}.append_events($1, $2, $3, $4, $5, $6, $7)`,
            values: values.slice(0, 7),
          }
        : {
            name: "append_events_consuming",
            text: `SELECT code, actual_seq, run_status FROM ${s}.append_events($1, $2, $3, $4, $5, $6, $7, $8)`,
            values,
          },
    answerOne: (res) => res.rows[0] as AppendOutcome | undefined,
    many: (items) => ({
      name: "append_events_batch",
      text: `SELECT i, code, actual_seq, run_status FROM ${s}.append_events_batch($1)`,
      // The row and event parameters are JSON text already: spliced in, not parsed and re-serialized. This JSON
      // is a parameter as a whole, so its other strings are put in their stored form here (text-codec.ts).
      values: [
        `[${items
          .map(
            ([runId, expectedSeq, owner, token, rows, events, notify, consumed], i) =>
              `{"i":${i},"run_id":${toJson(runId)},"expected_seq":${expectedSeq},` +
              `"lease_owner":${toJson(owner)},"lease_token":${JSON.stringify(token)},` +
              `"rows":${rows},"events":${events},"notify":${toJson(notify)},"consumed":${toJson(consumed)}}`,
          )
          .join(",")}]`,
      ],
    }),
    answerMany: (res, items) => byIndex(res, items.length) as (AppendOutcome | undefined)[],
  });
}

export function createCalls(pool: pg.Pool, s: string, maxInFlight: number) {
  return new CallGroup<CreateParams, CreateOutcome>({
    pool,
    maxInFlight,
    runIdOf: (p) => p.runId,
    one: (p) =>
      p.lease
        ? {
            name: "create_run_leased",
            text: `SELECT * FROM ${s}.create_run($1, $2, $3, $4, $5)`,
            values: [p.rowJson, p.eventsJson, p.notify, p.lease.owner, leaseTtl(p.lease.ttlMs)],
          }
        : {
            name: "create_run",
            text: `SELECT ${s}.create_run($1, $2, $3) AS created`,
            values: [p.rowJson, p.eventsJson, p.notify],
          },
    answerOne: (res) => ({ ...res.rows[0], created: res.rows[0]?.created === true }),
    many: (items) => ({
      name: "create_runs_batch",
      text: `SELECT i, created, lease_token, lease_expires_at FROM ${s}.create_runs_batch($1)`,
      values: [
        `[${items
          .map(
            (p, i) =>
              `{"i":${i},"run_row":${p.rowJson},"events":${p.eventsJson},"notify":${toJson(p.notify)},` +
              `"lease_owner":${toJson(p.lease?.owner ?? null)},` +
              `"lease_ttl":${p.lease ? leaseTtl(p.lease.ttlMs) : null}}`,
          )
          .join(",")}]`,
      ],
    }),
    answerMany: (res, items) =>
      byIndex(res, items.length).map((row) => ({ ...row, created: row?.created === true })),
  });
}

/** Reads of run rows by ID (`getRun`): answers are the row, or undefined for an unknown run. */
export function runReads(pool: pg.Pool, s: string, maxInFlight: number) {
  return new CallGroup<string, Row | undefined>({
    pool,
    maxInFlight,
    runIdOf: (runId) => runId,
    one: (runId) => ({ name: "get_run", text: `SELECT * FROM ${s}.runs WHERE run_id = $1`, values: [runId] }),
    answerOne: (res) => res.rows[0] as Row | undefined,
    many: (runIds) => ({
      name: "get_runs",
      text: `SELECT * FROM ${s}.runs WHERE run_id = ANY($1)`,
      values: [runIds],
    }),
    answerMany: (res, runIds) => {
      const rows = new Map((res.rows as Row[]).map((r) => [r.run_id as string, r]));
      return runIds.map((id) => rows.get(id));
    },
  });
}

function leaseTtl(ttlMs: number): number {
  return Math.max(0, Math.round(ttlMs));
}

/** Rows that carry their item's position as `i`, in item order (a missing one is undefined). */
function byIndex(res: pg.QueryResult, n: number): (Row | undefined)[] {
  const out = new Array<Row | undefined>(n);
  for (const row of res.rows as Row[]) out[Number(row.i)] = row;
  return out;
}
