/**
 * Schedules, event triggers and the hook prefix lookup of the Redis world. A schedule is its JSON record in the hash
 * `<prefix>schedules` (field: the name); a change reads the record, applies the rules of `@wfkit/world`'s schedules.ts
 * (`mergeSchedule`, `advanceTick`) and writes it back only if the stored text is still the one it read (a
 * compare-and-set script), trying again otherwise: ioredis shares one connection, so WATCH/MULTI cannot be used.
 * Triggers are the hash `<prefix>triggers` (field: event NUL workflow). Waiting runs are found by scanning the live
 * token hash `<prefix>tokens` with a MATCH pattern for the prefix.
 */
import {
  advanceTick,
  checkScheduleName,
  compareTriggers,
  type EventTrigger,
  type HookRecord,
  hooksWithPrefix,
  mergeSchedule,
  type ScheduleDefinition,
  type ScheduleRecord,
} from "@wfkit/world";
import type { Redis } from "ioredis";
import { idempotent } from "./connection.js";

const COMPARE_AND_SET = `
local cur = redis.call("HGET", KEYS[1], ARGV[1])
if (cur or "") ~= ARGV[2] then return 0 end
redis.call("HSET", KEYS[1], ARGV[1], ARGV[3])
return 1
`;

/** A Redis glob pattern that matches exactly the strings starting with `prefix`. */
function globPrefix(prefix: string): string {
  return `${prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`)}*`;
}

export class RedisSchedules {
  private readonly schedulesKey: string;
  private readonly triggersKey: string;
  private readonly tokensKey: string;

  constructor(
    private readonly client: Redis,
    private readonly prefix: string,
  ) {
    this.schedulesKey = `${prefix}schedules`;
    this.triggersKey = `${prefix}triggers`;
    this.tokensKey = `${prefix}tokens`;
  }

  put(def: ScheduleDefinition, now: number): Promise<ScheduleRecord> {
    checkScheduleName(def.name);
    return this.change(def.name, (existing) => mergeSchedule(existing, def, now)) as Promise<ScheduleRecord>;
  }

  async get(name: string): Promise<ScheduleRecord | undefined> {
    const raw = await idempotent("a read of a schedule", () => this.client.hget(this.schedulesKey, name));
    return raw ? (JSON.parse(raw) as ScheduleRecord) : undefined;
  }

  async list(): Promise<ScheduleRecord[]> {
    const all = await idempotent("a read of the schedules", () => this.client.hgetall(this.schedulesKey));
    return Object.keys(all)
      .sort()
      .map((name) => JSON.parse(all[name]!) as ScheduleRecord);
  }

  setPaused(name: string, paused: boolean, now: number): Promise<ScheduleRecord | undefined> {
    return this.change(name, (r) => r && { ...r, paused, updatedAt: now });
  }

  async delete(name: string): Promise<boolean> {
    return (await idempotent("a schedule delete", () => this.client.hdel(this.schedulesKey, name))) > 0;
  }

  recordTick(name: string, tick: number, runId?: string): Promise<ScheduleRecord | undefined> {
    return this.change(name, (r) => r && advanceTick(r, tick, runId));
  }

  async putTrigger(event: string, workflowName: string, now: number): Promise<void> {
    checkScheduleName(event, "event name");
    await idempotent("a trigger registration", () =>
      this.client.hsetnx(
        this.triggersKey,
        `${event}\0${workflowName}`,
        JSON.stringify({ event, workflowName, createdAt: now }),
      ),
    );
  }

  async deleteTrigger(event: string, workflowName: string): Promise<boolean> {
    return (
      (await idempotent("a trigger removal", () =>
        this.client.hdel(this.triggersKey, `${event}\0${workflowName}`),
      )) > 0
    );
  }

  async listTriggers(event?: string): Promise<EventTrigger[]> {
    const all = await idempotent("a read of the triggers", () => this.client.hgetall(this.triggersKey));
    return Object.values(all)
      .map((raw) => JSON.parse(raw) as EventTrigger)
      .filter((t) => event === undefined || t.event === event)
      .sort(compareTriggers);
  }

  async hooksByTokenPrefix(prefix: string, limit?: number): Promise<HookRecord[]> {
    const holders: { r: string; h: string }[] = [];
    let cursor = "0";
    do {
      const [next, flat] = await idempotent("a scan of hook tokens", () =>
        this.client.hscan(this.tokensKey, cursor, "MATCH", globPrefix(prefix), "COUNT", 1000),
      );
      cursor = next;
      for (let i = 0; i + 1 < flat.length; i += 2)
        holders.push(JSON.parse(flat[i + 1]!) as { r: string; h: string });
    } while (cursor !== "0");
    const rows = await Promise.all(
      holders.map((h) =>
        idempotent("a read of a hook", () => this.client.hget(`${this.prefix}hooks:${h.r}`, h.h)),
      ),
    );
    const hooks = rows
      .filter((r): r is string => typeof r === "string")
      .map((r) => JSON.parse(r) as HookRecord);
    return hooksWithPrefix(hooks, prefix, limit);
  }

  /** Read, apply `fn`, compare-and-set; again while another writer changed the record meanwhile. */
  private async change(
    name: string,
    fn: (r: ScheduleRecord | undefined) => ScheduleRecord | undefined,
  ): Promise<ScheduleRecord | undefined> {
    for (;;) {
      const raw = await idempotent("a read of a schedule", () => this.client.hget(this.schedulesKey, name));
      const next = fn(raw ? (JSON.parse(raw) as ScheduleRecord) : undefined);
      if (!next) return undefined;
      const text = JSON.stringify(next);
      if (text === raw) return next;
      // Resending is safe: a set that applied makes the repeat fail the comparison, and the loop reads it back.
      const set = await idempotent("a schedule write", () =>
        this.client.eval(COMPARE_AND_SET, 1, this.schedulesKey, name, raw ?? "", text),
      );
      if (set === 1) return next;
    }
  }
}
