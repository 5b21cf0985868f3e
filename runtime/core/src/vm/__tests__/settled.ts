/** How a promise of the workflow realm settled, for tests. */
import type { Sandbox } from "../sandbox.js";

export type Settled = { ok: true; value: any } | { ok: false; error: any } | undefined;

/**
 * Host code cannot simply await a promise of the realm: its reactions (and a host `await` of a thenable of the
 * realm) are queued in the realm's microtask queue, which only turns drain. This observes it from a turn.
 */
export function settledIn(sb: Sandbox, promise: unknown): Settled {
  let outcome: Settled;
  sb.enter(() =>
    sb.kit.settle(
      promise,
      (value) => {
        outcome = { ok: true, value };
      },
      (error) => {
        outcome = { ok: false, error };
      },
    ),
  );
  return outcome;
}
