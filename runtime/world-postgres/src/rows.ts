/**
 * Conversion between the records of the World contract (camelCase, optional fields absent) and the
 * snake_case rows of the tables (optional fields NULL). Rows are written as JSON documents whose keys
 * are the column names, so the server-side append can `jsonb_populate_recordset` them in one step.
 */
import type {
  Delivery,
  HookRecord,
  Lease,
  RunRecord,
  RunStatus,
  StepRecord,
  StepStatus,
  WaitRecord,
  WorkflowEvent,
} from "@wfkit/world";

export type Row = Record<string, unknown>;

/** Sets `key` on `target` unless the column was NULL (records leave optional fields out). */
function opt<T extends object, K extends keyof T>(target: T, key: K, value: unknown): void {
  if (value !== null && value !== undefined) target[key] = value as T[K];
}

export function runToRow(r: RunRecord): Row {
  return {
    run_id: r.runId,
    workflow_name: r.workflowName,
    status: r.status,
    input: r.input,
    output: r.output ?? null,
    error: r.error ?? null,
    cancel_reason: r.cancelReason ?? null,
    deployment_id: r.deploymentId ?? null,
    metadata: r.metadata ?? null,
    created_at: r.createdAt,
    started_at: r.startedAt ?? null,
    completed_at: r.completedAt ?? null,
    updated_at: r.updatedAt,
    last_seq: r.lastSeq,
    wake_at: r.wakeAt ?? null,
  };
}

export function runFromRow(row: Row): RunRecord {
  const run: RunRecord = {
    runId: row.run_id as string,
    workflowName: row.workflow_name as string,
    status: row.status as RunStatus,
    input: row.input as string,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    lastSeq: Number(row.last_seq),
  };
  opt(run, "output", row.output);
  opt(run, "error", row.error);
  opt(run, "cancelReason", row.cancel_reason);
  opt(run, "deploymentId", row.deployment_id);
  opt(run, "metadata", row.metadata);
  opt(run, "startedAt", num(row.started_at));
  opt(run, "completedAt", num(row.completed_at));
  opt(run, "wakeAt", num(row.wake_at));
  return run;
}

export function stepToRow(s: StepRecord): Row {
  return {
    run_id: s.runId,
    step_id: s.stepId,
    step_name: s.stepName,
    status: s.status,
    attempt: s.attempt,
    input: s.input,
    output: s.output ?? null,
    error: s.error ?? null,
    retry_at: s.retryAt ?? null,
    created_at: s.createdAt,
    started_at: s.startedAt ?? null,
    completed_at: s.completedAt ?? null,
    updated_at: s.updatedAt,
  };
}

export function stepFromRow(row: Row): StepRecord {
  const step: StepRecord = {
    runId: row.run_id as string,
    stepId: row.step_id as string,
    stepName: row.step_name as string,
    status: row.status as StepStatus,
    attempt: Number(row.attempt),
    input: row.input as string,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
  opt(step, "output", row.output);
  opt(step, "error", row.error);
  opt(step, "retryAt", num(row.retry_at));
  opt(step, "startedAt", num(row.started_at));
  opt(step, "completedAt", num(row.completed_at));
  return step;
}

export function waitToRow(w: WaitRecord): Row {
  return {
    run_id: w.runId,
    wait_id: w.waitId,
    resume_at: w.resumeAt,
    status: w.status,
    created_at: w.createdAt,
    completed_at: w.completedAt ?? null,
  };
}

export function waitFromRow(row: Row): WaitRecord {
  const wait: WaitRecord = {
    runId: row.run_id as string,
    waitId: row.wait_id as string,
    resumeAt: Number(row.resume_at),
    status: row.status as WaitRecord["status"],
    createdAt: Number(row.created_at),
  };
  opt(wait, "completedAt", num(row.completed_at));
  return wait;
}

export function hookToRow(h: HookRecord): Row {
  return {
    run_id: h.runId,
    hook_id: h.hookId,
    token: h.token,
    kind: h.kind,
    metadata: h.metadata ?? null,
    options: h.options ?? null,
    status: h.status,
    created_at: h.createdAt,
    disposed_at: h.disposedAt ?? null,
  };
}

export function hookFromRow(row: Row): HookRecord {
  const hook: HookRecord = {
    runId: row.run_id as string,
    hookId: row.hook_id as string,
    token: row.token as string,
    kind: row.kind as HookRecord["kind"],
    status: row.status as HookRecord["status"],
    createdAt: Number(row.created_at),
  };
  opt(hook, "metadata", row.metadata);
  opt(hook, "options", row.options);
  opt(hook, "disposedAt", num(row.disposed_at));
  return hook;
}

export function eventToRow(e: WorkflowEvent): Row {
  return {
    seq: e.seq,
    type: e.type,
    correlation_id: e.correlationId ?? null,
    data: e.data ?? null,
    created_at: e.createdAt,
  };
}

export function eventFromRow(runId: string, row: Row): WorkflowEvent {
  const event = {
    type: row.type,
    runId,
    seq: Number(row.seq),
    createdAt: Number(row.created_at),
  } as WorkflowEvent;
  opt(event, "correlationId", row.correlation_id);
  opt(event as { data?: unknown }, "data", row.data);
  return event;
}

export function deliveryFromRow(runId: string, row: Row): Delivery {
  return {
    runId,
    deliveryId: row.delivery_id as string,
    event: {
      type: "hook_received",
      correlationId: row.correlation_id as string,
      data: { payload: row.payload as string },
    },
    createdAt: Number(row.created_at),
  };
}

export function leaseFromRow(runId: string, row: Row): Lease {
  return {
    runId,
    owner: row.lease_owner as string,
    token: Number(row.lease_token),
    expiresAt: Number(row.lease_expires_at),
  };
}

function num(v: unknown): number | undefined {
  return v === null || v === undefined ? undefined : Number(v);
}
