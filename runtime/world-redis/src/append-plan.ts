/**
 * The pure parts of an append: the arguments of the append script (the events and the rows the shared
 * materialiser computed). No I/O here, so these are unit-tested without a server. Why a freshly read run refuses a
 * batch, and how to recognise our own events in the log after a lost answer, are `@wfkit/world`'s (cached-appends.ts).
 */
import {
  type ApplyEffects,
  checkHookTokens,
  consumedDeliveryIds,
  isTerminalStatus,
  type Lease,
  type NewEvent,
  type RunState,
  type WorkflowEvent,
} from "@wfkit/world";
import type { ScriptArg } from "./scripts/index.js";

/**
 * The hook token rules (`checkHookTokens`) judged against the run's own hooks, which `state` holds exactly as
 * stored (the append script's head check makes it so at the moment of the write). Answers every token the rules
 * asked about: the script refuses the batch if a live hook of another run holds one of them.
 */
export function checkOwnTokens(state: RunState, batch: readonly NewEvent[]): string[] {
  const { runId } = state.run;
  const asked: string[] = [];
  checkHookTokens(runId, batch, (token) => {
    asked.push(token);
    for (const h of state.hooks.values()) {
      if (h.status === "active" && h.token === token) return { runId, hookId: h.hookId };
    }
    return undefined;
  });
  return asked;
}

/**
 * The append script's ARGV after the prefix (layout documented on APPEND in scripts/runs.ts). `reached` names the
 * rows the materialiser reached while applying the batch (tracked-rows.ts): those are the rows written.
 */
export function appendArgs(
  state: RunState,
  expectedSeq: number,
  lease: Lease | undefined,
  checkedTokens: readonly string[],
  stamped: readonly WorkflowEvent[],
  effects: ApplyEffects,
  reached: { steps: string[]; waits: string[]; hooks: string[] },
  notification: string,
): ScriptArg[] {
  const { run } = state;
  const rows = <T>(map: Map<string, T>, ids: string[]) =>
    ids.flatMap((id) => {
      const row = map.get(id);
      return row === undefined ? [] : [id, JSON.stringify(row)];
    });
  const steps = rows(state.steps, reached.steps);
  const waits = rows(state.waits, reached.waits);
  const hookRows = rows(state.hooks, reached.hooks);
  const released = effects.hooksReleased.flatMap((h) => [h.token, h.hookId]);
  // Only hooks live after the batch hold their tokens (one the batch creates and disposes again holds none).
  const taken = effects.hooksCreated.filter((h) => h.status === "active").flatMap((h) => [h.token, h.hookId]);
  const consumed = consumedDeliveryIds(stamped);
  const ending = isTerminalStatus(run.status);
  return [
    run.runId,
    expectedSeq,
    lease?.owner ?? "",
    lease ? String(lease.token) : "",
    run.lastSeq,
    run.status,
    JSON.stringify(run),
    !ending && run.wakeAt !== undefined ? String(run.wakeAt) : "",
    ending ? "1" : "0",
    notification,
    stamped.length,
    ...stamped.map((e) => JSON.stringify(e)),
    steps.length / 2,
    ...steps,
    waits.length / 2,
    ...waits,
    hookRows.length / 2,
    ...hookRows,
    released.length / 2,
    ...released,
    checkedTokens.length,
    ...checkedTokens,
    taken.length / 2,
    ...taken,
    consumed.length,
    ...consumed,
  ];
}
