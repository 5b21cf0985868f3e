/**
 * `listRuns` over sorted-set indexes: every run is a member of `runs`, of `runs:s:<status>` and of
 * `runs:w:<workflowName>`, with the member `<15-digit createdAt>:<runId>` at score 0, so that lexical order is
 * (createdAt, runId) order and a page is one `ZRANGE … BYLEX REV` below the cursor's member (keyset paging:
 * runs created meanwhile never shift later pages).
 *
 * - No filter: the `runs` index. Status filter: one index per status, merged (each holds its runs in the same
 *   order, so the page's runs are among the first `limit + 1` of each).
 * - Workflow name filter: that workflow's index, its statuses checked in batches when a status filter is given.
 *
 * The index and the rows are read in separate round trips, so a run whose status changed in between is checked
 * again against the filter when its row arrives.
 */
import type { ListRunsQuery, Page, RunRecord, RunStatus } from "@wfkit/world";
import { decodeCursor, encodeCursor, pageSize } from "@wfkit/world";
import type { Redis } from "ioredis";
import { indexMember, type Keys, runIdOfMember } from "./keys.js";

const BATCH = 200;

export async function listRuns(
  client: Redis,
  keys: Keys,
  query: ListRunsQuery,
  readRows: (runIds: string[]) => Promise<(RunRecord | undefined)[]>,
): Promise<Page<RunRecord>> {
  const limit = pageSize(query.limit);
  let below = "+";
  if (query.cursor !== undefined) {
    const key = decodeCursor(query.cursor);
    below = `(${indexMember(key.createdAt, key.runId)}`;
  }
  const statuses =
    query.status === undefined
      ? undefined
      : new Set<RunStatus>(Array.isArray(query.status) ? query.status : [query.status]);
  const wanted = limit + 1;

  let members: string[];
  if (query.workflowName !== undefined) {
    members = await filteredByStatus(
      client,
      keys,
      keys.runsByWorkflow(query.workflowName),
      below,
      wanted,
      statuses,
    );
  } else {
    const sources = statuses ? [...statuses].map((s) => keys.runsByStatus(s)) : [keys.allRuns];
    const pages = await Promise.all(sources.map((key) => page(client, key, below, wanted)));
    members = [...new Set(pages.flat())].sort().reverse().slice(0, wanted);
  }

  const first = members.slice(0, limit);
  const rows = await readRows(first.map(runIdOfMember));
  const items = rows.filter(
    (r): r is RunRecord =>
      r !== undefined &&
      (statuses === undefined || statuses.has(r.status)) &&
      (query.workflowName === undefined || r.workflowName === query.workflowName),
  );
  if (members.length <= limit) return { items };
  const last = first[first.length - 1]!;
  return {
    items,
    nextCursor: encodeCursor({ createdAt: Number(last.slice(0, 15)), runId: runIdOfMember(last) }),
  };
}

function page(client: Redis, key: string, below: string, count: number): Promise<string[]> {
  return client.zrange(key, below, "-", "BYLEX", "REV", "LIMIT", 0, count);
}

/** Members of one index, newest first below `below`, whose run has one of `statuses` (all when undefined). */
async function filteredByStatus(
  client: Redis,
  keys: Keys,
  key: string,
  below: string,
  wanted: number,
  statuses: Set<RunStatus> | undefined,
): Promise<string[]> {
  if (!statuses) return page(client, key, below, wanted);
  const out: string[] = [];
  let from = below;
  while (out.length < wanted) {
    const batch = await page(client, key, from, BATCH);
    if (batch.length === 0) break;
    const pipeline = client.pipeline();
    for (const m of batch) pipeline.hget(keys.run(runIdOfMember(m)), "status");
    const found = (await pipeline.exec()) ?? [];
    batch.forEach((m, i) => {
      const status = found[i]?.[1];
      if (typeof status === "string" && statuses.has(status as RunStatus) && out.length < wanted) out.push(m);
    });
    if (batch.length < BATCH) break;
    from = `(${batch[batch.length - 1]}`;
  }
  return out;
}
