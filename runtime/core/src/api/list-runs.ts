/** `listRuns()` of `workflow/api`: the runs a world holds, newest first, a page at a time. */
import type { RunStatus, World } from "@wfkit/world";
import { type RunInfo, withWaitingFor } from "./run-info.js";
import { getEngine } from "./runtime-config.js";

export interface ListRunsOptions {
  /** Only runs in this status (or any of these). */
  status?: RunStatus | RunStatus[];
  /** Only runs of this workflow ID (`workflow//src/order.ts//order`). */
  workflowName?: string;
  /** Page size: default 50, at most 1000. */
  limit?: number;
  /** The `cursor` of the previous page. */
  cursor?: string;
  /** Read this world instead of the configured one. */
  world?: World;
}

/** One page, in the shape of WDK's list calls. */
export interface RunPage {
  data: RunInfo[];
  /** Pass as `cursor` for the next page; undefined on the last one. */
  cursor?: string;
  hasMore: boolean;
}

const STATUSES: readonly RunStatus[] = ["pending", "running", "completed", "failed", "cancelled"];

export async function listRuns(opts: ListRunsOptions = {}): Promise<RunPage> {
  const statuses = opts.status === undefined ? [] : Array.isArray(opts.status) ? opts.status : [opts.status];
  for (const status of statuses) {
    if (!STATUSES.includes(status)) {
      throw new TypeError(
        `listRuns({ status }): "${status}" is not a run status; use one of ${STATUSES.join(", ")}.`,
      );
    }
  }
  if (opts.limit !== undefined && !(Number.isInteger(opts.limit) && opts.limit >= 1 && opts.limit <= 1000)) {
    throw new TypeError(`listRuns({ limit }): limit must be an integer from 1 to 1000, got ${opts.limit}.`);
  }
  const world = opts.world ?? (await getEngine().world());
  const page = await world.listRuns({
    ...(opts.status === undefined ? {} : { status: opts.status }),
    ...(opts.workflowName === undefined ? {} : { workflowName: opts.workflowName }),
    ...(opts.limit === undefined ? {} : { limit: opts.limit }),
    ...(opts.cursor === undefined ? {} : { cursor: opts.cursor }),
  });
  return {
    data: await withWaitingFor(world, page.items),
    ...(page.nextCursor === undefined ? {} : { cursor: page.nextCursor }),
    hasMore: page.nextCursor !== undefined,
  };
}
