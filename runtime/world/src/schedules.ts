/**
 * [addition, schedules and events] What a world stores for schedules (`schedule()` in `workflow/api`) and event
 * triggers (`trigger(wf, { event })`), and the one lookup that event fan-out needs (live hooks by token prefix).
 *
 * Worlds store and answer; they never interpret cron expressions or serialized arguments (the engine does). Exactly
 * one run per tick does not depend on the world's storage being transactional: the engine derives each tick's run
 * ID from the schedule and the tick, and `createRun` refuses a second run with an ID that exists. The tick record
 * below only tells the engine where to continue from; a lost or raced update of it at worst makes an engine try a
 * tick again, which the run ID then refuses.
 *
 * The rules every world applies (what an upsert keeps, how a tick advances) are decided here, once.
 */
import { WorldError } from "./errors.js";
import type { HookRecord } from "./types.js";

export type ScheduleOverlap = "skip" | "allow";
export type ScheduleCatchUp = "none" | "latest";

/** What `schedule()` gives the world: everything the caller decides. */
export interface ScheduleDefinition {
  /** Unique per world; the upsert key. */
  name: string;
  /** The workflow ID the schedule starts. */
  workflowName: string;
  cron: string;
  /** IANA time zone the cron expression is read in; absent: UTC. */
  timezone?: string;
  /** Engine-serialized arguments of each run. */
  args: string;
  overlap: ScheduleOverlap;
  catchUp: ScheduleCatchUp;
}

export interface ScheduleRecord extends ScheduleDefinition {
  /** An operator paused it (`pauseSchedule`, `wf schedules pause`): no tick fires until resumed. */
  paused: boolean;
  /**
   * The latest tick handled (started, or skipped by `overlap`/`catchUp`/a pause), epoch ms. A new schedule starts
   * at its creation time, so its first run is its first tick after that.
   */
  lastTick: number;
  /** The run of the latest tick that started one (what `overlap: "skip"` checks). */
  lastRunId?: string;
  createdAt: number;
  updatedAt: number;
}

/** A workflow that every `emit()` of `event` starts (`trigger(wf, { event })`). */
export interface EventTrigger {
  event: string;
  workflowName: string;
  createdAt: number;
}

/**
 * The optional part of the World contract for schedules and events. A world has all of these methods or none; the
 * API refuses schedules and events on a world without them with a `WorldError` `UNSUPPORTED` that names the world.
 */
export interface ScheduleAndEventMethods {
  /**
   * Creates the schedule, or updates the one with this name. An update replaces the definition and keeps what
   * operators and ticks decided: `paused`, `lastTick`, `lastRunId`, `createdAt` (an app that calls `schedule()` on
   * every start neither resumes a paused schedule nor replays ticks). `now` is the new schedule's `lastTick`.
   */
  putSchedule(def: ScheduleDefinition, now: number): Promise<ScheduleRecord>;
  getSchedule(name: string): Promise<ScheduleRecord | undefined>;
  /** Every schedule, ordered by name. */
  listSchedules(): Promise<ScheduleRecord[]>;
  /** Sets `paused`; undefined for an unknown name. */
  setSchedulePaused(name: string, paused: boolean): Promise<ScheduleRecord | undefined>;
  /** Removes the schedule (its runs stay); false when there was none. */
  deleteSchedule(name: string): Promise<boolean>;
  /**
   * Records that `tick` was handled (see `advanceTick`): `lastTick` never moves back, and `runId` (the tick started
   * one) becomes `lastRunId`. Undefined for an unknown name (deleted meanwhile).
   */
  recordScheduleTick(name: string, tick: number, runId?: string): Promise<ScheduleRecord | undefined>;

  /** Registers `workflowName` to start on every `emit()` of `event`; registering it again changes nothing. */
  putEventTrigger(event: string, workflowName: string, now: number): Promise<void>;
  /** false when it was not registered. */
  deleteEventTrigger(event: string, workflowName: string): Promise<boolean>;
  /** The triggers of `event` (every trigger when absent), ordered by event then workflow. */
  listEventTriggers(event?: string): Promise<EventTrigger[]>;

  /**
   * Live hooks (active, of an unfinished run) whose token starts with `prefix`, ordered by token, at most `limit`
   * (default 1000). `waitForEvent()` is a hook whose token names the event, so `emit()` finds every waiting run
   * with this one lookup and delivers to each (`deliver`, idempotent by delivery ID).
   */
  listHooksByTokenPrefix(prefix: string, limit?: number): Promise<HookRecord[]>;
}

export const SCHEDULE_METHODS = [
  "putSchedule",
  "getSchedule",
  "listSchedules",
  "setSchedulePaused",
  "deleteSchedule",
  "recordScheduleTick",
  "putEventTrigger",
  "deleteEventTrigger",
  "listEventTriggers",
  "listHooksByTokenPrefix",
] as const;

/** The world's schedule and event methods, or undefined when it has none (all or nothing). */
export function schedulesOf<W extends object>(world: W): (W & ScheduleAndEventMethods) | undefined {
  const w = world as Partial<ScheduleAndEventMethods>;
  return SCHEDULE_METHODS.every((m) => typeof w[m] === "function")
    ? (world as W & ScheduleAndEventMethods)
    : undefined;
}

/**
 * Where a world keeps its schedules and event triggers (`MemorySchedules`, and one class per world package). Answers
 * may be synchronous; `StoredSchedules` makes every world method asynchronous.
 */
export interface ScheduleStore {
  put(def: ScheduleDefinition, now: number): ScheduleRecord | Promise<ScheduleRecord>;
  get(name: string): ScheduleRecord | undefined | Promise<ScheduleRecord | undefined>;
  list(): ScheduleRecord[] | Promise<ScheduleRecord[]>;
  setPaused(
    name: string,
    paused: boolean,
    now: number,
  ): ScheduleRecord | undefined | Promise<ScheduleRecord | undefined>;
  delete(name: string): boolean | Promise<boolean>;
  recordTick(
    name: string,
    tick: number,
    runId?: string,
  ): ScheduleRecord | undefined | Promise<ScheduleRecord | undefined>;
  putTrigger(event: string, workflowName: string, now: number): void | Promise<void>;
  deleteTrigger(event: string, workflowName: string): boolean | Promise<boolean>;
  listTriggers(event?: string): EventTrigger[] | Promise<EventTrigger[]>;
}

/**
 * The schedule and event methods of a world that keeps them in a `ScheduleStore`, written once: each refuses a closed
 * world, then asks the store. A world class extends this and supplies its store, its open check and
 * `listHooksByTokenPrefix` (that one reads the world's hooks, which each world finds its own way).
 */
export abstract class StoredSchedules implements ScheduleAndEventMethods {
  protected abstract readonly schedules: ScheduleStore;
  /** Throws once the world is closed. */
  protected abstract assertOpen(): void;
  abstract listHooksByTokenPrefix(prefix: string, limit?: number): Promise<HookRecord[]>;

  /** The `updatedAt` that `setSchedulePaused` stamps: the wall clock; a world with its own clock overrides it. */
  protected scheduleClock(): number {
    return Date.now();
  }

  async putSchedule(def: ScheduleDefinition, now: number): Promise<ScheduleRecord> {
    this.assertOpen();
    return this.schedules.put(def, now);
  }

  async getSchedule(name: string): Promise<ScheduleRecord | undefined> {
    this.assertOpen();
    return this.schedules.get(name);
  }

  async listSchedules(): Promise<ScheduleRecord[]> {
    this.assertOpen();
    return this.schedules.list();
  }

  async setSchedulePaused(name: string, paused: boolean): Promise<ScheduleRecord | undefined> {
    this.assertOpen();
    return this.schedules.setPaused(name, paused, this.scheduleClock());
  }

  async deleteSchedule(name: string): Promise<boolean> {
    this.assertOpen();
    return this.schedules.delete(name);
  }

  async recordScheduleTick(name: string, tick: number, runId?: string): Promise<ScheduleRecord | undefined> {
    this.assertOpen();
    return this.schedules.recordTick(name, tick, runId);
  }

  async putEventTrigger(event: string, workflowName: string, now: number): Promise<void> {
    this.assertOpen();
    return this.schedules.putTrigger(event, workflowName, now);
  }

  async deleteEventTrigger(event: string, workflowName: string): Promise<boolean> {
    this.assertOpen();
    return this.schedules.deleteTrigger(event, workflowName);
  }

  async listEventTriggers(event?: string): Promise<EventTrigger[]> {
    this.assertOpen();
    return this.schedules.listTriggers(event);
  }
}

/** The stored record after an upsert of `def` over `existing` (see `putSchedule`). */
export function mergeSchedule(
  existing: ScheduleRecord | undefined,
  def: ScheduleDefinition,
  now: number,
): ScheduleRecord {
  const definition: ScheduleDefinition = {
    name: def.name,
    workflowName: def.workflowName,
    cron: def.cron,
    ...(def.timezone !== undefined ? { timezone: def.timezone } : {}),
    args: def.args,
    overlap: def.overlap,
    catchUp: def.catchUp,
  };
  if (!existing) return { ...definition, paused: false, lastTick: now, createdAt: now, updatedAt: now };
  return {
    ...definition,
    paused: existing.paused,
    lastTick: existing.lastTick,
    ...(existing.lastRunId !== undefined ? { lastRunId: existing.lastRunId } : {}),
    createdAt: existing.createdAt,
    updatedAt: now,
  };
}

/**
 * The record after `tick` was handled: `lastTick` is the later of the two (ticks are handled by several processes,
 * in any order); `runId` becomes `lastRunId` unless a later tick was handled already.
 */
export function advanceTick(record: ScheduleRecord, tick: number, runId?: string): ScheduleRecord {
  if (tick < record.lastTick) return record;
  const next: ScheduleRecord = { ...record, lastTick: tick };
  if (runId !== undefined) next.lastRunId = runId;
  return next;
}

/** Refuses what no world could store well: an empty name, NUL characters, or more than 200 characters. */
export function checkScheduleName(name: unknown, what = "schedule name"): asserts name is string {
  if (typeof name !== "string" || name.length === 0 || name.length > 200 || name.includes("\0")) {
    throw new WorldError(
      "INVALID_QUERY",
      `The ${what} must be a string of 1-200 characters without NUL characters, got ${JSON.stringify(name)}.`,
    );
  }
}

/** The schedule and trigger half of the methods, in memory (the memory world; tests). */
export class MemorySchedules {
  private readonly schedules = new Map<string, ScheduleRecord>();
  private readonly triggers = new Map<string, EventTrigger>();

  put(def: ScheduleDefinition, now: number): ScheduleRecord {
    checkScheduleName(def.name);
    const record = mergeSchedule(this.schedules.get(def.name), def, now);
    this.schedules.set(def.name, record);
    return { ...record };
  }

  get(name: string): ScheduleRecord | undefined {
    const record = this.schedules.get(name);
    return record && { ...record };
  }

  list(): ScheduleRecord[] {
    return [...this.schedules.values()]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((r) => ({ ...r }));
  }

  setPaused(name: string, paused: boolean, now: number): ScheduleRecord | undefined {
    const record = this.schedules.get(name);
    if (!record) return undefined;
    const next = { ...record, paused, updatedAt: now };
    this.schedules.set(name, next);
    return { ...next };
  }

  delete(name: string): boolean {
    return this.schedules.delete(name);
  }

  recordTick(name: string, tick: number, runId?: string): ScheduleRecord | undefined {
    const record = this.schedules.get(name);
    if (!record) return undefined;
    const next = advanceTick(record, tick, runId);
    this.schedules.set(name, next);
    return { ...next };
  }

  putTrigger(event: string, workflowName: string, now: number): void {
    checkScheduleName(event, "event name");
    const key = triggerKey(event, workflowName);
    if (!this.triggers.has(key)) this.triggers.set(key, { event, workflowName, createdAt: now });
  }

  deleteTrigger(event: string, workflowName: string): boolean {
    return this.triggers.delete(triggerKey(event, workflowName));
  }

  listTriggers(event?: string): EventTrigger[] {
    return [...this.triggers.values()]
      .filter((t) => event === undefined || t.event === event)
      .sort(compareTriggers)
      .map((t) => ({ ...t }));
  }
}

function triggerKey(event: string, workflowName: string): string {
  return `${event}\0${workflowName}`;
}

export function compareTriggers(a: EventTrigger, b: EventTrigger): number {
  if (a.event !== b.event) return a.event < b.event ? -1 : 1;
  return a.workflowName < b.workflowName ? -1 : a.workflowName > b.workflowName ? 1 : 0;
}

/** Hooks of `hooks` whose token starts with `prefix`, ordered by token, at most `limit`. */
export function hooksWithPrefix(hooks: Iterable<HookRecord>, prefix: string, limit = 1000): HookRecord[] {
  const found: HookRecord[] = [];
  for (const hook of hooks) if (hook.status === "active" && hook.token.startsWith(prefix)) found.push(hook);
  found.sort((a, b) => (a.token < b.token ? -1 : a.token > b.token ? 1 : 0));
  return found.slice(0, limit);
}
