/**
 * Keyset cursors for `listRuns`: the (createdAt, runId) of the last run of a page, in the same encoding as the
 * other worlds, so the next page continues strictly below it and runs created meanwhile never shift later pages.
 */
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, WorldError } from "@wfkit/world";

export interface CursorKey {
  createdAt: number;
  runId: string;
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

export function pageSize(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new WorldError("INVALID_QUERY", `Page size must be a positive integer, got ${String(limit)}.`);
  }
  return Math.min(limit, MAX_PAGE_SIZE);
}
