/**
 * Hook tokens are unique across runs, and runs may be written by different processes, so a process's
 * in-memory token index is not enough. Each live token has a claim file `hooks/<sha256(token)>` created
 * with O_EXCL before its `hook_created` record is written: the file system arbitrates between two
 * processes taking the same token at once. The claim also lets another process (the CLI resuming a hook)
 * find the run holding a token without reading every log.
 *
 * A claim outlives its hook only after a crash (the hook's dispose or run end deletes it otherwise); a
 * claim whose hook is no longer live in its run's log is stale and is replaced. A claim younger than
 * `CLAIM_GRACE_MS` whose hook is not in the log yet is being written right now and counts as held.
 */
import { createHash } from "node:crypto";
import { closeSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { HookTokenConflictError, type TokenHolder } from "@wfkit/world";
import { isPermissionError, notWritableError } from "./file-io.js";

export const CLAIM_GRACE_MS = 10_000;

export interface Claim extends TokenHolder {
  token: string;
  at: number;
}

export type ClaimLiveness = "live" | "pending" | "stale";

export class HookClaims {
  constructor(private readonly dir: string) {}

  private path(token: string): string {
    return join(this.dir, createHash("sha256").update(token).digest("hex").slice(0, 40));
  }

  read(token: string): Claim | undefined | "unreadable" {
    let text: string;
    try {
      text = readFileSync(this.path(token), "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw e;
    }
    try {
      const c = JSON.parse(text) as Claim;
      if (c.token === token && typeof c.runId === "string" && typeof c.hookId === "string") return c;
    } catch {
      // a claim torn by a crash while it was written
    }
    return "unreadable";
  }

  /**
   * Takes `token` for the hook, or throws `HookTokenConflictError` when a live (or just-being-created)
   * hook holds it. `liveness` tells whether an existing claim's hook is live in its run's log.
   */
  claim(token: string, holder: TokenHolder, now: number, liveness: (c: Claim) => ClaimLiveness): void {
    const path = this.path(token);
    for (let attempt = 0; attempt < 4; attempt++) {
      try {
        const fd = openSync(path, "wx", 0o644);
        try {
          writeSync(fd, JSON.stringify({ token, runId: holder.runId, hookId: holder.hookId, at: now }));
        } finally {
          closeSync(fd);
        }
        return;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "ENOENT") {
          // The hooks directory was removed (a data directory reset while running): make it again.
          mkdirSync(this.dir, { recursive: true });
          continue;
        }
        if (isPermissionError(e)) throw notWritableError(path, e);
        if (code !== "EEXIST") throw e;
      }
      const existing = this.read(token);
      if (existing === undefined) continue; // released meanwhile
      if (existing === "unreadable") {
        if (now - mtime(path) < CLAIM_GRACE_MS)
          throw new HookTokenConflictError(token, "(a run being written)");
      } else if (existing.runId === holder.runId && existing.hookId === holder.hookId) {
        return;
      } else if (liveness(existing) !== "stale") {
        throw new HookTokenConflictError(token, existing.runId);
      }
      unlinkQuietly(path);
    }
    throw new HookTokenConflictError(token, "(another process, contended)");
  }

  /** Deletes the claim if it still names this hook (a newer holder's claim is left alone). */
  release(token: string, holder: TokenHolder): void {
    const existing = this.read(token);
    if (
      existing &&
      existing !== "unreadable" &&
      existing.runId === holder.runId &&
      existing.hookId === holder.hookId
    ) {
      unlinkQuietly(this.path(token));
    }
  }
}

function mtime(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
}
