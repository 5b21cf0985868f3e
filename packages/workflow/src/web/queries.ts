/**
 * What the dashboard's JSON API reads: runs, one run's detail, its events a page at a time, and per-workflow
 * counts. Stored values are decoded with the observability decoder (no app code runs) and turned into stable JSON
 * with `toJsonValue`, the shapes `wf inspect --json` prints.
 */
import {
  callOrder,
  eventInfo,
  hydrateData,
  type RunStatus,
  runInfo,
  stepInfo,
  toJsonValue,
  type World,
} from "@wfkit/core";
import { buildTimeline } from "./timeline.js";

export const RUN_STATUSES: readonly RunStatus[] = [
  "pending",
  "running",
  "paused",
  "completed",
  "failed",
  "cancelled",
];

/** A query parameter the API cannot use: answered with 400 and this message. */
export class BadRequestError extends Error {
  override name = "BadRequestError";
}

export interface RunsQuery {
  status?: RunStatus[];
  workflowName?: string;
  /** A run ID, or a part of one. */
  search?: string;
  limit?: number;
  cursor?: string;
}

/** How many of the newest runs a search by part of an ID, or the workflows page, reads at most. */
export const SCAN_LIMIT = 10_000;

export function parseRunsQuery(params: URLSearchParams): RunsQuery {
  const query: RunsQuery = {};
  const status = params.get("status");
  if (status) {
    const list = status.split(",").map((s) => s.trim()) as RunStatus[];
    for (const s of list) {
      if (!RUN_STATUSES.includes(s)) {
        throw new BadRequestError(
          `status "${s}" is not a run status; use one of ${RUN_STATUSES.join(", ")}.`,
        );
      }
    }
    query.status = list;
  }
  const workflow = params.get("workflow");
  if (workflow) query.workflowName = workflow;
  const search = params.get("q")?.trim();
  if (search) query.search = search;
  const limit = params.get("limit");
  if (limit !== null) {
    const n = Number(limit);
    if (!Number.isInteger(n) || n < 1 || n > 1000) {
      throw new BadRequestError(`limit must be an integer from 1 to 1000, got "${limit}".`);
    }
    query.limit = n;
  }
  const cursor = params.get("cursor");
  if (cursor) query.cursor = cursor;
  return query;
}

/** A run as the runs list shows it (no decoded values: a list page stays small). */
function runSummary(record: Awaited<ReturnType<World["getRun"]>> & object) {
  return {
    runId: record.runId,
    workflowName: record.workflowName,
    status: record.status,
    createdAt: record.createdAt,
    ...(record.startedAt === undefined ? {} : { startedAt: record.startedAt }),
    ...(record.completedAt === undefined ? {} : { completedAt: record.completedAt }),
    updatedAt: record.updatedAt,
    lastSeq: record.lastSeq,
    ...(record.wakeAt === undefined ? {} : { wakeAt: record.wakeAt }),
  };
}

export type RunSummary = ReturnType<typeof runSummary>;

export async function listRunsPage(
  world: World,
  query: RunsQuery,
): Promise<{ data: RunSummary[]; cursor?: string; hasMore: boolean }> {
  const matches = (r: { status: RunStatus; workflowName: string }) =>
    (!query.status || query.status.includes(r.status)) &&
    (!query.workflowName || r.workflowName === query.workflowName);
  if (query.search) {
    // An exact ID is one read; a part of an ID is looked for among the newest runs.
    const exact = await world.getRun(query.search);
    if (exact) return { data: matches(exact) ? [runSummary(exact)] : [], hasMore: false };
    const needle = query.search.toLowerCase();
    const found: RunSummary[] = [];
    const limit = query.limit ?? 50;
    let cursor: string | undefined;
    let scanned = 0;
    do {
      const page = await world.listRuns({
        ...(query.status ? { status: query.status } : {}),
        ...(query.workflowName ? { workflowName: query.workflowName } : {}),
        limit: 1000,
        ...(cursor ? { cursor } : {}),
      });
      scanned += page.items.length;
      for (const r of page.items) {
        if (r.runId.toLowerCase().includes(needle)) found.push(runSummary(r));
      }
      cursor = page.nextCursor;
    } while (cursor && scanned < SCAN_LIMIT && found.length < limit);
    return { data: found.slice(0, limit), hasMore: false };
  }
  const page = await world.listRuns({
    ...(query.status ? { status: query.status } : {}),
    ...(query.workflowName ? { workflowName: query.workflowName } : {}),
    limit: query.limit ?? 50,
    ...(query.cursor ? { cursor: query.cursor } : {}),
  });
  return {
    data: page.items.map(runSummary),
    ...(page.nextCursor ? { cursor: page.nextCursor } : {}),
    hasMore: page.nextCursor !== undefined,
  };
}

const json = (value: unknown) => toJsonValue(value);

/** Steps at most in one detail answer with their decoded values; beyond, values are read per step. */
const STEP_VALUES_LIMIT = 200;

export async function runDetail(world: World, runId: string) {
  const record = await world.getRun(runId);
  if (!record) return undefined;
  const [steps, waits, hooks, events] = await Promise.all([
    world.listSteps(runId),
    world.listWaits(runId),
    world.listHooks(runId),
    world.readEvents(runId),
  ]);
  steps.sort((a, b) => callOrder(a.stepId, b.stepId));
  const withValues = steps.length <= STEP_VALUES_LIMIT;
  return {
    run: { ...(json(runInfo(record)) as object), lastSeq: record.lastSeq, ...quarantine(record) },
    steps: steps.map((s) => {
      const info = json(stepInfo(s)) as Record<string, unknown>;
      if (!withValues) {
        delete info.input;
        delete info.output;
      }
      return info;
    }),
    stepValuesIncluded: withValues,
    waits: waits.map((w) => ({ ...w })),
    hooks: hooks.map((h) => ({
      hookId: h.hookId,
      token: h.token,
      kind: h.kind,
      status: h.status,
      createdAt: h.createdAt,
      ...(h.disposedAt === undefined ? {} : { disposedAt: h.disposedAt }),
      ...(h.metadata === undefined ? {} : { metadata: json(hydrateData(h.metadata)) }),
    })),
    timeline: buildTimeline(events),
    eventCount: events.length,
  };
}

function quarantine(record: { quarantine?: unknown }) {
  return record.quarantine ? { quarantine: record.quarantine } : {};
}

export async function stepDetail(world: World, runId: string, stepId: string) {
  const step = await world.getStep(runId, stepId);
  return step ? json(stepInfo(step)) : undefined;
}

/** Events with `seq > after`, at most `limit`, decoded. */
export async function eventsPage(world: World, runId: string, params: URLSearchParams) {
  const after = Number(params.get("after") ?? "0");
  const limit = Number(params.get("limit") ?? "100");
  if (!Number.isInteger(after) || after < 0) {
    throw new BadRequestError(
      `after must be a sequence number (an integer >= 0), got "${params.get("after")}".`,
    );
  }
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw new BadRequestError(`limit must be an integer from 1 to 1000, got "${params.get("limit")}".`);
  }
  const record = await world.getRun(runId);
  if (!record) return undefined;
  const events = await world.readEvents(runId, { afterSeq: after, limit });
  return {
    data: events.map((e) => json(eventInfo(e))),
    lastSeq: record.lastSeq,
    hasMore: (events.at(-1)?.seq ?? record.lastSeq) < record.lastSeq,
  };
}

export interface WorkflowStats {
  workflowName: string;
  total: number;
  counts: Record<RunStatus, number>;
  /** Failed among the finished runs (0..1); null before any run finished. */
  failureRate: number | null;
  lastRunAt: number;
}

/** Counts per workflow over the newest runs (at most `SCAN_LIMIT`: `truncated` says when there are more). */
export async function workflowStats(world: World): Promise<{ data: WorkflowStats[]; truncated: boolean }> {
  const stats = new Map<string, WorkflowStats>();
  let cursor: string | undefined;
  let scanned = 0;
  do {
    const page = await world.listRuns({ limit: 1000, ...(cursor ? { cursor } : {}) });
    for (const run of page.items) {
      let s = stats.get(run.workflowName);
      if (!s) {
        s = {
          workflowName: run.workflowName,
          total: 0,
          counts: Object.fromEntries(RUN_STATUSES.map((k) => [k, 0])) as Record<RunStatus, number>,
          failureRate: null,
          lastRunAt: run.createdAt,
        };
        stats.set(run.workflowName, s);
      }
      s.total++;
      s.counts[run.status]++;
      s.lastRunAt = Math.max(s.lastRunAt, run.createdAt);
    }
    scanned += page.items.length;
    cursor = page.nextCursor;
  } while (cursor && scanned < SCAN_LIMIT);
  for (const s of stats.values()) {
    const finished = s.counts.completed + s.counts.failed + s.counts.cancelled;
    s.failureRate = finished === 0 ? null : s.counts.failed / finished;
  }
  return {
    data: [...stats.values()].sort((a, b) => a.workflowName.localeCompare(b.workflowName)),
    truncated: cursor !== undefined,
  };
}

/** The run's output streams (none on a world without streams). */
export async function streamsOf(world: World, runId: string) {
  if (!(await world.getRun(runId))) return undefined;
  return { data: world.listStreams ? await world.listStreams(runId) : [] };
}

/**
 * Chunks of a stream from `start`, decoded: text chunks and bytes (as UTF-8) become `text`, other values `value`
 * (stable JSON), so the page can show a log as a log and objects one per line.
 */
export async function streamPage(world: World, runId: string, name: string, params: URLSearchParams) {
  const start = Number(params.get("start") ?? "0");
  if (!Number.isInteger(start) || start < 0) {
    throw new BadRequestError(`start must be a chunk index (an integer >= 0), got "${params.get("start")}".`);
  }
  if (!world.readStream) return { chunks: [], closed: true, next: start };
  const page = await world.readStream(runId, name, { startIndex: start, limit: 500 });
  const chunks = page.chunks.map((chunk) => {
    const value = hydrateData(chunk.data);
    if (typeof value === "string") return { index: chunk.index, text: value };
    if (value instanceof Uint8Array) return { index: chunk.index, text: Buffer.from(value).toString("utf8") };
    return { index: chunk.index, value: json(value) };
  });
  return {
    chunks,
    closed: page.closed && chunks.length < 500,
    next: (chunks.at(-1)?.index ?? start - 1) + 1,
  };
}
