/**
 * Schedules and events of `workflow/api`: `schedule()` and the operations on schedules, `emit()`, `trigger()` and
 * `untrigger()`. Application code (and, for `emit`, step code: it then uses the engine running the step).
 */
import { newRunId, type ScheduleRecord, type World } from "@wfkit/world";
import type { Engine } from "../engine/engine.js";
import { stepContext } from "../engine/step-context.js";
import { ScheduleNotFoundError } from "../sandbox/errors.js";
import { deserialize, serialize } from "../serialization/index.js";
import { eventNameProblem } from "../triggers/event-tokens.js";
import {
  checkEmit,
  type EmitOptions,
  type EmitResult,
  type EmittedEvent,
  emitEvent,
  triggerStore,
} from "../triggers/events.js";
import { compileCron, nextTick } from "../triggers/ticks.js";
import { Run } from "./run.js";
import { engineForWorld, getEngine } from "./runtime-config.js";

export type { EmitOptions, EmitResult, EmittedEvent };

export interface ScheduleOptions<A extends unknown[] = unknown[]> {
  /** Five fields (`min hour day month weekday`) or six with seconds first; `@hourly`-style nicknames work too. */
  cron: string;
  /** IANA time zone the expression is read in (default UTC), e.g. `"Europe/Berlin"`; DST is handled. */
  timezone?: string;
  /** The arguments of every run. */
  args?: A;
  /** A tick while the previous tick's run is unfinished: `"skip"` it (default) or `"allow"` a second run. */
  overlap?: "skip" | "allow";
  /**
   * Ticks missed while no process executed runs: `"latest"` (default) starts one run for the latest of them,
   * `"none"` starts none (a tick counts as missed once it is 10 s old).
   */
  catchUp?: "none" | "latest";
  /** The world to store it in (default: the configured one). */
  world?: World;
}

/** A schedule as the API describes it. */
export interface ScheduleInfo {
  name: string;
  workflowName: string;
  cron: string;
  timezone?: string;
  args: unknown[];
  overlap: "skip" | "allow";
  catchUp: "none" | "latest";
  paused: boolean;
  /** The latest tick handled (started, or skipped); the creation time before the first tick. */
  lastTick: Date;
  /** The run of the latest tick that started one. */
  lastRunId?: string;
  /** The next tick (none while paused, or for an expression with no further tick). */
  nextTick?: Date;
  createdAt: Date;
  updatedAt: Date;
}

export interface WorldOption {
  world?: World;
  /** The engine to go through (tools that hold one, such as the `wf` commands); else the world's or the configured one. */
  engine?: Engine;
}

function engineOf(opts?: WorldOption): Engine {
  return opts?.engine ?? (opts?.world ? engineForWorld(opts.world) : getEngine());
}

async function storeOf(engine: Engine) {
  return triggerStore(await engine.world());
}

function workflowIdOf(workflow: unknown, api: string): string {
  if (typeof workflow === "string" && workflow.length > 0) return workflow;
  const id = typeof workflow === "function" ? (workflow as { workflowId?: unknown }).workflowId : undefined;
  if (typeof id === "string" && id.length > 0) return id;
  throw new TypeError(
    `${api}: expects a workflow function (marked "use workflow" and compiled) or its workflow ID, got ${
      typeof workflow === "function"
        ? `the function "${workflow.name}" without a workflowId`
        : String(workflow)
    }.`,
  );
}

function info(record: ScheduleRecord): ScheduleInfo {
  const result: ScheduleInfo = {
    name: record.name,
    workflowName: record.workflowName,
    cron: record.cron,
    args: deserialize(record.args) as unknown[],
    overlap: record.overlap,
    catchUp: record.catchUp,
    paused: record.paused,
    lastTick: new Date(record.lastTick),
    createdAt: new Date(record.createdAt),
    updatedAt: new Date(record.updatedAt),
  };
  if (record.timezone !== undefined) result.timezone = record.timezone;
  if (record.lastRunId !== undefined) result.lastRunId = record.lastRunId;
  if (!record.paused) {
    try {
      const next = nextTick(record, record.lastTick);
      if (next !== undefined) result.nextTick = new Date(next);
    } catch {
      // an expression stored by another version that this one cannot read: no next tick to show
    }
  }
  return result;
}

/**
 * Creates the schedule `name`, or updates it (an idempotent upsert: call it on every start of the app). Every
 * process that executes runs fires its ticks, and each tick starts exactly one run, whose ID derives from the
 * schedule and the tick. An update keeps whether operators paused it and which ticks were handled.
 */
export async function schedule<A extends unknown[]>(
  name: string,
  workflow: ((...args: A) => Promise<unknown>) | string,
  opts: ScheduleOptions<A>,
): Promise<ScheduleInfo> {
  const nameProblem = eventNameProblem(name, "the schedule name");
  if (nameProblem) throw new TypeError(`schedule(name, workflow, options): ${nameProblem}.`);
  const workflowName = workflowIdOf(workflow, "schedule(name, workflow, options)");
  if (typeof opts !== "object" || opts === null) {
    throw new TypeError(
      'schedule(name, workflow, options): options must be an object such as { cron: "0 * * * *" }.',
    );
  }
  if (opts.timezone !== undefined && typeof opts.timezone !== "string") {
    throw new TypeError(`schedule(): timezone must be an IANA time zone name, got ${typeof opts.timezone}.`);
  }
  compileCron(opts.cron, opts.timezone);
  if (opts.args !== undefined && !Array.isArray(opts.args)) {
    throw new TypeError(
      `schedule(): args must be an array of the workflow's arguments, got ${typeof opts.args}.`,
    );
  }
  const overlap = opts.overlap ?? "skip";
  if (overlap !== "skip" && overlap !== "allow") {
    throw new TypeError(`schedule(): overlap must be "skip" or "allow", got ${JSON.stringify(overlap)}.`);
  }
  const catchUp = opts.catchUp ?? "latest";
  if (catchUp !== "none" && catchUp !== "latest") {
    throw new TypeError(`schedule(): catchUp must be "none" or "latest", got ${JSON.stringify(catchUp)}.`);
  }
  const engine = engineOf(opts);
  const store = await storeOf(engine);
  const record = await store.putSchedule(
    {
      name,
      workflowName,
      cron: opts.cron,
      ...(opts.timezone !== undefined ? { timezone: opts.timezone } : {}),
      args: serialize(opts.args ?? [], { path: "schedule args" }),
      overlap,
      catchUp,
    },
    engine.now(),
  );
  engine.schedules()?.poke();
  return info(record);
}

/** The schedule named `name`, or undefined. */
export async function getSchedule(name: string, opts?: WorldOption): Promise<ScheduleInfo | undefined> {
  const record = await (await storeOf(engineOf(opts))).getSchedule(name);
  return record && info(record);
}

/** Every schedule of the world, by name. */
export async function listSchedules(opts?: WorldOption): Promise<ScheduleInfo[]> {
  return (await (await storeOf(engineOf(opts))).listSchedules()).map(info);
}

/** Stops the schedule's ticks until `resumeSchedule`; runs already started go on. */
export async function pauseSchedule(name: string, opts?: WorldOption): Promise<ScheduleInfo> {
  const record = await (await storeOf(engineOf(opts))).setSchedulePaused(name, true);
  if (!record) throw new ScheduleNotFoundError(name);
  return info(record);
}

/** Resumes a paused schedule from now on: the ticks it missed while paused do not start runs. */
export async function resumeSchedule(name: string, opts?: WorldOption): Promise<ScheduleInfo> {
  const engine = engineOf(opts);
  const store = await storeOf(engine);
  if (!(await store.setSchedulePaused(name, false))) throw new ScheduleNotFoundError(name);
  const record = await store.recordScheduleTick(name, engine.now());
  if (!record) throw new ScheduleNotFoundError(name);
  engine.schedules()?.poke();
  return info(record);
}

/**
 * Starts a run of the schedule's workflow with its arguments now, outside its ticks (paused or not); the ticks go on
 * as before. Returns the run.
 */
export async function triggerSchedule(name: string, opts?: WorldOption): Promise<Run<unknown>> {
  const engine = engineOf(opts);
  const record = await (await storeOf(engine)).getSchedule(name);
  if (!record) throw new ScheduleNotFoundError(name);
  const runId = await engine.start(record.workflowName, deserialize(record.args) as unknown[], {
    runId: newRunId(),
    metadata: { schedule: { name, manual: true } },
  });
  return new Run(runId, engine);
}

/** Removes the schedule (its runs stay). False when there was none. */
export async function deleteSchedule(name: string, opts?: WorldOption): Promise<boolean> {
  return (await storeOf(engineOf(opts))).deleteSchedule(name);
}

/**
 * Emits an event: every run waiting for it in `waitForEvent(name, { key })` receives it, and every workflow
 * registered with `trigger(wf, { event: name })` starts with it as its argument, each once per event ID. Resolves
 * once all of that is durable. In a step, the event goes through the engine running the step.
 */
export async function emit<T = unknown>(
  name: string,
  data?: T,
  opts: EmitOptions & WorldOption = {},
): Promise<EmitResult> {
  checkEmit(name, opts);
  const { world, engine, ...emitOpts } = opts;
  const ctx = stepContext.getStore();
  if (!world && !engine && ctx?.emit) return ctx.emit(name, data, emitOpts);
  return emitEvent(engineOf({ world, engine }), name, data, emitOpts);
}

export interface TriggerOptions extends WorldOption {
  /** The event whose every `emit()` starts a run of the workflow (with the event as its one argument). */
  event: string;
}

/**
 * Registers `workflow` to start on every `emit()` of `event`, with the `EmittedEvent` as its argument; once per
 * event ID. Stored in the world, so an emit from any process starts it; registering again changes nothing.
 */
export async function trigger(
  workflow: ((event: EmittedEvent<any>) => Promise<unknown>) | string,
  opts: TriggerOptions,
): Promise<void> {
  const workflowName = workflowIdOf(workflow, "trigger(workflow, { event })");
  const problem = eventNameProblem(opts?.event, "event");
  if (problem) throw new TypeError(`trigger(workflow, { event }): ${problem}.`);
  const engine = engineOf(opts);
  await (await storeOf(engine)).putEventTrigger(opts.event, workflowName, engine.now());
}

/** Undoes `trigger(workflow, { event })`. False when it was not registered. */
export async function untrigger(
  workflow: ((event: EmittedEvent<any>) => Promise<unknown>) | string,
  opts: TriggerOptions,
): Promise<boolean> {
  const workflowName = workflowIdOf(workflow, "untrigger(workflow, { event })");
  const problem = eventNameProblem(opts?.event, "event");
  if (problem) throw new TypeError(`untrigger(workflow, { event }): ${problem}.`);
  return (await storeOf(engineOf(opts))).deleteEventTrigger(opts.event, workflowName);
}

/** The registered triggers (of one event, or all). */
export async function listTriggers(
  opts: { event?: string } & WorldOption = {},
): Promise<{ event: string; workflowName: string; createdAt: Date }[]> {
  const triggers = await (await storeOf(engineOf(opts))).listEventTriggers(opts.event);
  return triggers.map((t) => ({ ...t, createdAt: new Date(t.createdAt) }));
}
