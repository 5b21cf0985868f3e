/**
 * Schedules and event triggers of the local world, as small JSON files that every process on the data directory
 * reads afresh (there are few, and a scheduler reads them about once a second):
 *
 *   <dataDir>/schedules/<name>.json   the definition, `paused`, `createdAt` and the `lastTick` it started with
 *   <dataDir>/schedules/<name>.tick   the latest tick handled and its run (written by schedulers)
 *   <dataDir>/triggers/<event>~<workflow>  one file per trigger
 *
 * (names base64url-encoded). Every write is a whole file renamed into place, so a reader never sees half of one.
 * The tick lives in its own file so that a scheduler recording a tick never overwrites an operator's pause written
 * meanwhile (read-modify-write of one file would). Two schedulers may race on the tick file; the later write wins
 * and may move `lastTick` back by one tick, which only makes a scheduler try that tick again: its run ID exists, so
 * the world refuses the second run (see `@wfkit/world`'s schedules.ts).
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  advanceTick,
  checkScheduleName,
  compareTriggers,
  type EventTrigger,
  mergeSchedule,
  type ScheduleDefinition,
  type ScheduleRecord,
} from "@wfkit/world";

const enc = (s: string) => Buffer.from(s, "utf8").toString("base64url");
const dec = (s: string) => Buffer.from(s, "base64url").toString("utf8");

interface TickFile {
  lastTick: number;
  lastRunId?: string;
}

export class ScheduleFiles {
  private readonly schedulesDir: string;
  private readonly triggersDir: string;

  constructor(dataDir: string) {
    this.schedulesDir = join(dataDir, "schedules");
    this.triggersDir = join(dataDir, "triggers");
  }

  put(def: ScheduleDefinition, now: number): ScheduleRecord {
    checkScheduleName(def.name);
    const record = mergeSchedule(this.get(def.name), def, now);
    this.writeDefinition(record);
    return record;
  }

  get(name: string): ScheduleRecord | undefined {
    const definition = readJson<ScheduleRecord>(this.definitionPath(name));
    if (!definition || definition.name !== name) return undefined;
    const tick = readJson<TickFile>(this.tickPath(name));
    return tick && typeof tick.lastTick === "number"
      ? advanceTick(definition, tick.lastTick, tick.lastRunId)
      : definition;
  }

  list(): ScheduleRecord[] {
    const names: string[] = [];
    for (const file of listDir(this.schedulesDir)) {
      if (file.endsWith(".json")) names.push(dec(file.slice(0, -5)));
    }
    names.sort();
    return names.map((n) => this.get(n)).filter((r): r is ScheduleRecord => r !== undefined);
  }

  setPaused(name: string, paused: boolean, now: number): ScheduleRecord | undefined {
    const record = this.get(name);
    if (!record) return undefined;
    const next = { ...record, paused, updatedAt: now };
    this.writeDefinition(next);
    return next;
  }

  delete(name: string): boolean {
    const existed = this.get(name) !== undefined;
    removeFile(this.definitionPath(name));
    removeFile(this.tickPath(name));
    return existed;
  }

  recordTick(name: string, tick: number, runId?: string): ScheduleRecord | undefined {
    const record = this.get(name);
    if (!record) return undefined;
    const next = advanceTick(record, tick, runId);
    if (next !== record) {
      const file: TickFile = { lastTick: next.lastTick };
      if (next.lastRunId !== undefined) file.lastRunId = next.lastRunId;
      writeAtomically(this.schedulesDir, this.tickPath(name), JSON.stringify(file));
    }
    return next;
  }

  putTrigger(event: string, workflowName: string, now: number): void {
    checkScheduleName(event, "event name");
    const path = this.triggerPath(event, workflowName);
    if (readJson<EventTrigger>(path)) return;
    writeAtomically(this.triggersDir, path, JSON.stringify({ event, workflowName, createdAt: now }));
  }

  deleteTrigger(event: string, workflowName: string): boolean {
    return removeFile(this.triggerPath(event, workflowName));
  }

  listTriggers(event?: string): EventTrigger[] {
    const prefix = event === undefined ? undefined : `${enc(event)}~`;
    const found: EventTrigger[] = [];
    for (const file of listDir(this.triggersDir)) {
      if (file.endsWith(".tmp") || (prefix && !file.startsWith(prefix))) continue;
      const trigger = readJson<EventTrigger>(join(this.triggersDir, file));
      if (trigger && (event === undefined || trigger.event === event)) found.push(trigger);
    }
    return found.sort(compareTriggers);
  }

  private writeDefinition(record: ScheduleRecord): void {
    // The tick file carries later ticks; the definition keeps the tick it was created with.
    writeAtomically(this.schedulesDir, this.definitionPath(record.name), JSON.stringify(record));
  }

  private definitionPath(name: string): string {
    return join(this.schedulesDir, `${enc(name)}.json`);
  }

  private tickPath(name: string): string {
    return join(this.schedulesDir, `${enc(name)}.tick`);
  }

  private triggerPath(event: string, workflowName: string): string {
    return join(this.triggersDir, `${enc(event)}~${enc(workflowName)}`);
  }
}

function readJson<T>(path: string): T | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined; // not possible with rename-into-place, unless edited by hand
  }
}

function writeAtomically(dir: string, path: string, text: string): void {
  mkdirSync(dir, { recursive: true });
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

function removeFile(path: string): boolean {
  try {
    unlinkSync(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw e;
  }
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
}
