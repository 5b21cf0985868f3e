/**
 * `workflow/api` as workflow code sees it (the bundler's "workflow" export condition): `start()` starts a CHILD run,
 * a durable operation recorded in the parent's log; the application-side functions are refused with the way to
 * do it instead. Sandbox-safe: it imports nothing from Node and delegates to the runtime object of the run.
 */
import { RUNTIME_KEY } from "@wfkit/core/sandbox";

export {
  HookConflictError,
  type HookInfo,
  HookNotFoundError,
  HookPayloadInvalidError,
  RunAlreadyExistsError,
  ScheduleNotFoundError,
  WorkflowRunCancelledError,
  WorkflowRunFailedError,
  WorkflowRunNotFoundError,
} from "@wfkit/core/sandbox";

/** What `start()` gives workflow code: the child's ID and its outcome, awaited durably. */
export interface ChildRun<R> {
  readonly runId: string;
  /** The child's return value; rejects with `WorkflowRunFailedError` / `WorkflowRunCancelledError`. */
  readonly returnValue: Promise<R>;
}

export interface ChildStartOptions {
  /** The child's run ID (default: derived from the parent's, so a replay starts the same child). */
  runId?: string;
  /** What happens to the child when the parent ends first: `"cancel"` (default) or `"abandon"`. */
  parentClosePolicy?: "cancel" | "abandon";
}

interface ChildRuntime {
  startChild(workflowId: string, args: unknown[], opts: ChildStartOptions): Promise<ChildRun<unknown>>;
  emit(name: string, data: unknown, opts: { key?: string; id?: string }): Promise<EmitResult>;
}

/** What `emit()` did (see the application-side `emit`). */
export interface EmitResult {
  eventId: string;
  delivered: string[];
  started: string[];
}

/**
 * Emits an event from workflow code, as a step (recorded once; its event ID derives from the run unless \`id\` is
 * given, so a retry delivers nothing twice). Waiting runs receive it and triggered workflows start with it.
 */
export function emit<T = unknown>(
  name: string,
  data?: T,
  opts: { key?: string; id?: string } = {},
): Promise<EmitResult> {
  return runtime().emit(name, data, opts);
}

function runtime(): ChildRuntime {
  const rt = (globalThis as Record<symbol, ChildRuntime | undefined>)[RUNTIME_KEY];
  if (!rt) throw new Error("workflow/api's start() in workflow code needs the workflow runtime.");
  return rt;
}

/** Starts a child run of `workflow` (a workflow function or its ID): recorded in this run's log, replay-safe. */
export function start<A extends unknown[], R>(
  workflow: ((...args: A) => Promise<R>) | string,
  args?: A,
  opts: ChildStartOptions = {},
): Promise<ChildRun<R>> {
  const id = typeof workflow === "string" ? workflow : (workflow as { workflowId?: unknown })?.workflowId;
  if (typeof id !== "string" || id.length === 0) {
    throw new TypeError(
      'start() in workflow code expects a workflow function (marked "use workflow") or its workflow ID.',
    );
  }
  return runtime().startChild(id, (args ?? []) as unknown[], opts) as Promise<ChildRun<R>>;
}

function onlyOutside(name: string): never {
  throw new Error(
    `${name}() is for application code. In workflow code, call it inside a "use step" function (steps run in the host).`,
  );
}

export function schedule(): never {
  return onlyOutside("schedule");
}
export function trigger(): never {
  return onlyOutside("trigger");
}
export function untrigger(): never {
  return onlyOutside("untrigger");
}
export function listTriggers(): never {
  return onlyOutside("listTriggers");
}
export function getSchedule(): never {
  return onlyOutside("getSchedule");
}
export function listSchedules(): never {
  return onlyOutside("listSchedules");
}
export function pauseSchedule(): never {
  return onlyOutside("pauseSchedule");
}
export function resumeSchedule(): never {
  return onlyOutside("resumeSchedule");
}
export function triggerSchedule(): never {
  return onlyOutside("triggerSchedule");
}
export function deleteSchedule(): never {
  return onlyOutside("deleteSchedule");
}
export function getRun(): never {
  return onlyOutside("getRun");
}
export function resumeHook(): never {
  return onlyOutside("resumeHook");
}
export function resumeWebhook(): never {
  return onlyOutside("resumeWebhook");
}
export function getHookByToken(): never {
  return onlyOutside("getHookByToken");
}
