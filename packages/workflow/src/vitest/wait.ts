/**
 * `waitForSleep(run)` and `waitForHook(run, { token })`: wait until a run reaches a `sleep()` or a hook, by
 * reading its event log, so a test can then wake it (`run.wakeUp()`) or resume it (`resumeHook()`).
 */
import type { EventInfo, HookInfo } from "@wfkit/core";

export interface WaitOptions {
  /** Maximum time to wait, in ms (default 30 000). */
  timeout?: number;
  /** How often the log is read, in ms (default 100). */
  pollInterval?: number;
}

/** What the helpers need of a run: `start()`'s and `getRun()`'s `Run` both fit. */
export interface WatchedRun {
  readonly runId: string;
  events(): Promise<EventInfo[]>;
  readonly status: Promise<string>;
}

const ENDED = new Set(["run_completed", "run_failed", "run_cancelled"]);

/**
 * Resolves with the correlation ID of the run's first pending sleep (`wait_created` without `wait_completed`),
 * which `run.wakeUp({ correlationIds: [id] })` takes.
 */
export async function waitForSleep(run: WatchedRun, opts: WaitOptions = {}): Promise<string> {
  return poll(run, opts, "a pending sleep()", (events) => {
    const done = new Set(events.filter((e) => e.type === "wait_completed").map((e) => e.correlationId));
    return events.find((e) => e.type === "wait_created" && !done.has(e.correlationId))?.correlationId;
  });
}

/**
 * Resolves with the first hook of the run (with `token`, when given) that is live and has not received a payload
 * yet: `resumeHook(hook.token, payload)` then reaches the code awaiting it.
 */
export async function waitForHook(
  run: WatchedRun,
  opts: WaitOptions & { token?: string } = {},
): Promise<HookInfo> {
  const what = opts.token === undefined ? "a hook" : `a hook with token "${opts.token}"`;
  return poll(run, opts, what, (events) => {
    const used = new Set(
      events
        .filter((e) => e.type === "hook_received" || e.type === "hook_disposed")
        .map((e) => e.correlationId),
    );
    const created = events.find(
      (e) =>
        e.type === "hook_created" &&
        !used.has(e.correlationId) &&
        (opts.token === undefined || e.data?.token === opts.token),
    );
    if (!created) return undefined;
    const data = created.data ?? {};
    const hook: HookInfo = {
      runId: run.runId,
      hookId: created.correlationId!,
      token: String(data.token),
      kind: data.kind === "webhook" ? "webhook" : "hook",
      createdAt: created.createdAt,
    };
    if (data.metadata !== undefined) hook.metadata = data.metadata;
    return hook;
  });
}

async function poll<T>(
  run: WatchedRun,
  opts: WaitOptions,
  what: string,
  find: (events: EventInfo[]) => T | undefined,
): Promise<T> {
  const timeout = opts.timeout ?? 30_000;
  const interval = opts.pollInterval ?? 100;
  if (!run || typeof run.runId !== "string" || typeof run.events !== "function") {
    throw new TypeError("Expected the Run that start() or getRun() returned.");
  }
  const deadline = Date.now() + timeout;
  for (;;) {
    const events = await run.events();
    const end = events.find((e) => ENDED.has(e.type));
    const found = end ? undefined : find(events);
    if (found !== undefined) return found;
    if (end) {
      throw new Error(`Run ${run.runId} ended (${end.type}) without reaching ${what}.`);
    }
    if (Date.now() >= deadline) {
      throw new Error(
        `Run ${run.runId} did not reach ${what} within ${timeout} ms (status: ${await run.status}). ` +
          "Check that the workflow gets there, or raise the timeout option.",
      );
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}
