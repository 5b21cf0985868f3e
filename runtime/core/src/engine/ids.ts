/**
 * Correlation IDs of steps and waits come from a per-run counter so that a replay of the same code makes
 * the same IDs: they are never random. (Run IDs come from `newRunId` in `@wfkit/world`.)
 */
import { randomBytes } from "node:crypto";

export type OperationKind = "step" | "wait" | "hook";

/** `step_0001`, `wait_0002`, `hook_0003`: one counter per run shared by every kind, so the log shows the call order. */
export function correlationId(kind: OperationKind, counter: number): string {
  return `${kind}_${String(counter).padStart(4, "0")}`;
}

/**
 * A delivery's ID (`World.deliver`): random, because deliveries come from any process at any time; it only has
 * to be unique within the run and stable across the retries of one call.
 */
export function newDeliveryId(): string {
  return `dlv_${randomBytes(12).toString("base64url")}`;
}
