/**
 * `emit()`: one event reaches every run waiting for it (`waitForEvent`) and starts every workflow registered for it
 * (`trigger`), each exactly once per event ID. Nothing about the event itself is stored: a waiting run receives it as
 * a delivery to its wait's hook (delivery ID = event ID and hook, so a repeated emit of the same ID is recorded
 * once), and a triggered run's ID derives from the event ID and the workflow (so it is created once). Emitting again
 * with the same `id` after a crash or a lost answer therefore completes what the first call began, and repeats
 * nothing.
 */
import { randomBytes } from "node:crypto";
import { type ScheduleAndEventMethods, schedulesOf, WorldError } from "@wfkit/world";
import type { Engine } from "../engine/engine.js";
import { HookNotFoundError } from "../sandbox/hook-errors.js";
import { eventNameProblem, eventWaitPrefix } from "./event-tokens.js";
import { triggeredRunId } from "./ticks.js";

export interface EmitOptions {
  /** Only runs waiting for this key (and runs waiting for the name without a key) receive the event. */
  key?: string;
  /**
   * The event's ID (default: a new random one). Emitting twice with the same ID delivers and starts once: pass an
   * ID from the source of the event (a webhook delivery ID, an order number) to make retries safe.
   */
  id?: string;
}

/** What `waitForEvent()` gives workflow code and what a triggered workflow receives as its only argument. */
export interface EmittedEvent<T = unknown> {
  id: string;
  name: string;
  key?: string;
  data: T;
  emittedAt: Date;
}

export interface EmitResult {
  eventId: string;
  /** Runs that were waiting for the event and received it (now, or by an earlier emit of the same ID). */
  delivered: string[];
  /** Runs started for the event by `trigger()` registrations (now, or by an earlier emit of the same ID). */
  started: string[];
}

/** How many deliveries one emit makes at once. */
const FAN_OUT_CONCURRENCY = 16;
/** Waiting runs one emit reaches at most (one lookup per prefix). */
const MAX_WAITERS = 100_000;

export function newEventId(): string {
  return `wevt_${Date.now().toString(36)}${randomBytes(10).toString("base64url")}`;
}

/** The world's schedule and event methods, or an error that says this world has none. */
export function triggerStore(world: { name: string }): ScheduleAndEventMethods {
  const store = schedulesOf(world);
  if (!store) {
    throw new WorldError(
      "UNSUPPORTED",
      `The ${world.name} world does not support schedules and events (schedule(), emit(), waitForEvent(), trigger()). ` +
        "The local, postgres, sqlite, redis, vercel and memory worlds have them; a custom world adds the methods of " +
        "ScheduleAndEventMethods (@wfkit/world).",
    );
  }
  return store;
}

export function checkEmit(name: unknown, opts: EmitOptions | undefined): void {
  const problem =
    eventNameProblem(name, "the event name") ??
    (opts?.key !== undefined ? eventNameProblem(opts.key, "the key") : undefined) ??
    (opts?.id !== undefined ? eventNameProblem(opts.id, "the event id") : undefined);
  if (problem) throw new TypeError(`emit(name, data, { key, id }): ${problem}.`);
}

export async function emitEvent(
  engine: Engine,
  name: string,
  data: unknown,
  opts: EmitOptions = {},
): Promise<EmitResult> {
  checkEmit(name, opts);
  const world = await engine.world();
  const store = triggerStore(world);
  const eventId = opts.id ?? newEventId();
  const event: EmittedEvent = { id: eventId, name, data, emittedAt: new Date(engine.now()) };
  if (opts.key !== undefined) event.key = opts.key;

  const prefixes = [eventWaitPrefix(name, undefined)];
  if (opts.key !== undefined) prefixes.push(eventWaitPrefix(name, opts.key));
  const hooks = (await Promise.all(prefixes.map((p) => store.listHooksByTokenPrefix(p, MAX_WAITERS)))).flat();
  const delivered = new Set<string>();
  let next = 0;
  const worker = async () => {
    while (next < hooks.length) {
      const hook = hooks[next++]!;
      try {
        await engine.resumeHook(hook.token, event, "hook", `${eventId}:${hook.hookId}`);
        delivered.add(hook.runId);
      } catch (error) {
        // The wait ended meanwhile (its timeout, or the run ended): it no longer wants the event.
        if (!HookNotFoundError.is(error)) throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(FAN_OUT_CONCURRENCY, hooks.length) }, worker));

  const started: string[] = [];
  for (const trigger of await store.listEventTriggers(name)) {
    const runId = triggeredRunId(eventId, trigger.workflowName);
    // A registration is explicit: the run starts even where this process lacks the workflow's code (another
    // service registered it); a process that has the code executes it.
    started.push(
      await engine.start(trigger.workflowName, [event], {
        runId,
        onConflict: "use-existing",
        metadata: { event: { id: eventId, name } },
        checkRegistered: false,
      }),
    );
  }
  return { eventId, delivered: [...delivered].sort(), started };
}
