/**
 * `createWorld()`: what the runtime calls for `WORKFLOW_TARGET_WORLD=vercel`. Storage from `WORKFLOW_POSTGRES_URL`
 * (and `WORKFLOW_POSTGRES_SCHEMA`), the queue from `WORKFLOW_VERCEL_QUEUE_URL` / `WORKFLOW_VERCEL_QUEUE_TOKEN`
 * (on Vercel neither is needed: the region's service and the function's OIDC token are used).
 */
import { createVercelWorld, type VercelWorld } from "./vercel-world.js";

export function createWorld(env: Record<string, string | undefined> = process.env): Promise<VercelWorld> {
  return createVercelWorld({ env });
}
