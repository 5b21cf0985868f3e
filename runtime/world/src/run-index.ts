/**
 * The in-memory index a world keeps over its materialised runs: lookup by ID, newest-first listing with
 * keyset cursors, pending wake-ups and live hook tokens. Shared by the memory world and the local world
 * (which rebuilds it from its log files at open), so listing and wake-up semantics are identical.
 */
import {
  type CursorKey,
  compareCursorKeys as compareKeys,
  decodeCursor,
  encodeCursor,
  pageSize,
} from "./cursor.js";
import { type ApplyEffects, isTerminalStatus, type RunState, type TokenHolder } from "./materialize.js";
import type { DueRun, ListRunsQuery, Page, RunRecord, RunStatus } from "./types.js";

export class RunIndex {
  readonly states = new Map<string, RunState>();
  /** Ascending by (createdAt, runId); listing walks it backwards for newest first. */
  private readonly order: RunState[] = [];
  /** Unfinished runs with a pending wake-up. */
  private readonly wake = new Map<string, number>();
  private readonly tokens = new Map<string, TokenHolder>();
  /** Runs no executor may drive any more (a world found their stored log damaged or gone). */
  private readonly quarantined = new Set<string>();

  get(runId: string): RunState | undefined {
    return this.states.get(runId);
  }

  /** Adds a run (new, or loaded from storage with its rows already materialised). */
  add(state: RunState): void {
    this.states.set(state.run.runId, state);
    const { order } = this;
    if (order.length === 0 || compareKeys(order[order.length - 1]!.run, state.run) <= 0) {
      order.push(state); // the usual case: runs arrive in creation order
    } else {
      order.splice(this.firstNotBefore(state.run), 0, state);
    }
    for (const hook of state.hooks.values()) {
      if (hook.status === "active") this.tokens.set(hook.token, { runId: hook.runId, hookId: hook.hookId });
    }
    this.updateWake(state);
  }

  /** Follows the effects of events just applied to `state`. */
  applied(state: RunState, effects: ApplyEffects): void {
    for (const hook of effects.hooksReleased) {
      const holder = this.tokens.get(hook.token);
      if (holder && holder.runId === hook.runId && holder.hookId === hook.hookId)
        this.tokens.delete(hook.token);
    }
    for (const hook of effects.hooksCreated) {
      if (hook.status === "active") this.tokens.set(hook.token, { runId: hook.runId, hookId: hook.hookId });
    }
    this.updateWake(state);
  }

  /**
   * Keeps the run's row (listed, with its hook tokens still taken) but never offers it as work again: it leaves
   * the wake-ups, and listings that ask to skip quarantined runs (`listUnfinished`).
   */
  quarantine(runId: string): void {
    this.quarantined.add(runId);
    this.wake.delete(runId);
  }

  /** [addition, events] Holders of live tokens that start with `prefix` (for `listHooksByTokenPrefix`). */
  tokenHoldersWithPrefix(prefix: string): TokenHolder[] {
    const found: TokenHolder[] = [];
    for (const [token, holder] of this.tokens) if (token.startsWith(prefix)) found.push(holder);
    return found;
  }

  tokenHolder(token: string): TokenHolder | undefined {
    return this.tokens.get(token);
  }

  private updateWake(state: RunState): void {
    const { run } = state;
    if (run.wakeAt !== undefined && !isTerminalStatus(run.status) && !this.quarantined.has(run.runId))
      this.wake.set(run.runId, run.wakeAt);
    else this.wake.delete(run.runId);
  }

  list(query: ListRunsQuery = {}, opts: { skipQuarantined?: boolean } = {}): Page<RunRecord> {
    const limit = pageSize(query.limit);
    const statuses =
      query.status === undefined
        ? undefined
        : new Set<RunStatus>(Array.isArray(query.status) ? query.status : [query.status]);
    let i = this.order.length - 1;
    if (query.cursor !== undefined) {
      // Keyset pagination: continue strictly below the cursor's run, so runs created meanwhile (which
      // are newer) never shift a later page.
      i = this.firstNotBefore(decodeCursor(query.cursor)) - 1;
    }
    const items: RunRecord[] = [];
    for (; i >= 0; i--) {
      const { run } = this.order[i]!;
      if (statuses && !statuses.has(run.status)) continue;
      if (query.workflowName !== undefined && run.workflowName !== query.workflowName) continue;
      if (opts.skipQuarantined && this.quarantined.has(run.runId)) continue;
      if (items.length === limit) {
        const last = items[items.length - 1]!;
        return { items, nextCursor: encodeCursor(last) };
      }
      items.push({ ...run });
    }
    return { items };
  }

  /** Index of the first run whose key is not smaller than `key` (binary search over `order`). */
  private firstNotBefore(key: CursorKey): number {
    let lo = 0;
    let hi = this.order.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareKeys(this.order[mid]!.run, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  listDue(now: number, limit = 100): DueRun[] {
    const due: DueRun[] = [];
    for (const [runId, wakeAt] of this.wake) if (wakeAt <= now) due.push({ runId, wakeAt });
    due.sort((a, b) => a.wakeAt - b.wakeAt || (a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0));
    return due.slice(0, Math.max(0, limit));
  }

  nextWakeAt(): number | undefined {
    let min: number | undefined;
    for (const t of this.wake.values()) if (min === undefined || t < min) min = t;
    return min;
  }
}
