/**
 * Conversion between the records of the World contract and the rows of the tables. Records are stored as the
 * JSON of the objects the shared materialiser produced, so a field added to a record later is stored and read
 * back without a change here; the run's `input` lives in a column of its own because it rarely changes (only a
 * debounced run's `run_started` replaces it) and may be
 * large, and the run row is rewritten by every append.
 */
import type { RunRecord, WorkflowEvent } from "@wfkit/world";

export interface EventRow {
  seq: number;
  type: string;
  correlation_id: string | null;
  created_at: number;
  data: string | null;
}

export function eventFromRow(runId: string, row: EventRow): WorkflowEvent {
  const event = { type: row.type, runId, seq: row.seq, createdAt: row.created_at } as WorkflowEvent;
  if (row.correlation_id !== null) event.correlationId = row.correlation_id;
  if (row.data !== null) (event as { data?: unknown }).data = JSON.parse(row.data);
  return event;
}

/** `data` as stored: absent is NULL, anything else (even `null`) its JSON. */
export function eventData(event: WorkflowEvent): string | null {
  const { data } = event as { data?: unknown };
  return data === undefined ? null : JSON.stringify(data);
}

/** The run record without `input` (stored in its own column). */
export function runRecordJson(run: RunRecord): string {
  const { input: _, ...rest } = run;
  return JSON.stringify(rest);
}

export function runFromRow(row: { input: string; record: string }): RunRecord {
  const run = JSON.parse(row.record) as RunRecord;
  run.input = row.input;
  return run;
}
