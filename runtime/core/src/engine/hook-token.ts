/**
 * Generated hook tokens. A token is the only secret between a run and whoever may resume it, so it comes
 * from the OS CSPRNG (192 bits), not from the run's seeded randomness: that seed is the run ID, which is not
 * secret. Determinism comes from the log instead: `hook_created` records the token and a replay hands the
 * recorded one back (`WorkflowInstance.preload`).
 */
import { randomBytes } from "node:crypto";

export function newHookToken(): string {
  return `whk_${randomBytes(24).toString("base64url")}`;
}

/** Longest token accepted; a token travels in URLs and is an index key in every world. */
export const MAX_HOOK_TOKEN_LENGTH = 1024;

/**
 * Why a chosen token is unusable, or undefined when it is fine: empty, too long, or holding a NUL character
 * (which no database text column can store and no URL should carry).
 */
export function hookTokenProblem(token: unknown): string | undefined {
  if (typeof token !== "string" || token.length === 0) return "it must be a non-empty string";
  if (token.length > MAX_HOOK_TOKEN_LENGTH) {
    return `it is ${token.length} characters long; at most ${MAX_HOOK_TOKEN_LENGTH} are allowed`;
  }
  if (token.includes("\u0000")) return "it contains a NUL character (\\u0000)";
  return undefined;
}

/** Whether `token` can name a hook at all (lookups of one that cannot are simply not found). */
export function checkHookToken(token: unknown): token is string {
  return hookTokenProblem(token) === undefined;
}
