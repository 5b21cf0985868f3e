/**
 * Keyset cursors for `listRuns`, shared by every world so a cursor means the same everywhere: the
 * (createdAt, runId) of the last run of a page, so the next page continues strictly below it and runs created
 * meanwhile (which are newer) never shift later pages.
 */
import { WorldError } from "./errors.js";

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 1000;

export interface CursorKey {
  createdAt: number;
  runId: string;
}

export function compareCursorKeys(a: CursorKey, b: CursorKey): number {
  return a.createdAt - b.createdAt || (a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0);
}

export function encodeCursor(key: CursorKey): string {
  return Buffer.from(JSON.stringify([key.createdAt, key.runId])).toString("base64url");
}

export function decodeCursor(cursor: string): CursorKey {
  try {
    const [createdAt, runId] = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as [
      unknown,
      unknown,
    ];
    if (typeof createdAt === "number" && Number.isFinite(createdAt) && typeof runId === "string") {
      return { createdAt, runId };
    }
  } catch {
    // reported below
  }
  throw new WorldError(
    "INVALID_CURSOR",
    `"${cursor}" is not a cursor this world made; pass the nextCursor of a previous page unchanged.`,
  );
}

/** The page size a `listRuns` query asks for, checked: default 50, at most 1,000. */
export function pageSize(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new WorldError("INVALID_QUERY", `Page size must be a positive integer, got ${String(limit)}.`);
  }
  return Math.min(limit, MAX_PAGE_SIZE);
}
