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
