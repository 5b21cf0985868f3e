/**
 * Steps the runtime itself provides, for workflow code: `fetch` from `workflow`, and the body readers behind
 * `.json()`, `.text()` and `.arrayBuffer()` of Requests and Responses that workflow code holds (reading a body
 * is asynchronous host work, so it runs as a step and its result is recorded like any other).
 */
import { STEPS_KEY } from "../sandbox/abi.js";
import { FatalError } from "../sandbox/errors.js";
import { RunAlreadyExistsError } from "../sandbox/run-errors.js";
import { stepContext } from "./step-context.js";

export const FETCH_STEP = "step//workflow//fetch";
export const READ_BODY_STEP = "step//workflow//readBody";
export const START_CHILD_STEP = "step//workflow//startChild";
export const EMIT_STEP = "step//workflow//emit";

interface ChildSpec {
  workflowId: string;
  args: unknown[];
  runId: string;
  token: string;
  parentClosePolicy: "cancel" | "abandon";
}

/**
 * Creates a child run (`start()` in workflow code). Idempotent by the child's run ID: after a crash between the
 * child's creation and this step's result, the rerun finds the child and returns it.
 */
async function startChildStep(spec: ChildSpec): Promise<string> {
  const ctx = stepContext.getStore();
  if (!ctx?.startRun)
    throw new FatalError("start() of a child run needs the engine that runs the parent's steps.");
  const parent = { runId: ctx.workflowRunId, token: spec.token, parentClosePolicy: spec.parentClosePolicy };
  try {
    return await ctx.startRun(spec.workflowId, spec.args, {
      runId: spec.runId,
      onConflict: "use-existing",
      metadata: { parent },
    });
  } catch (error) {
    // Another workflow's run holds the ID: no retry changes that.
    if (RunAlreadyExistsError.is(error)) throw new FatalError((error as Error).message, { cause: error });
    throw error;
  }
}

/**
 * `emit()` in workflow code. The event ID comes from the run (`wevt_<run>_<n>`), so a retry of this step (or a rerun
 * after a crash) emits the same event, which is delivered and starts triggered runs once.
 */
async function emitStep(spec: { name: string; data: unknown; key?: string; id: string }) {
  const ctx = stepContext.getStore();
  if (!ctx?.emit)
    throw new FatalError("emit() in workflow code needs the engine that runs the workflow's steps.");
  return ctx.emit(spec.name, spec.data, {
    id: spec.id,
    ...(spec.key !== undefined ? { key: spec.key } : {}),
  });
}

async function fetchStep(input: string | URL | Request, init?: RequestInit): Promise<Response> {
  return globalThis.fetch(input, init);
}

async function readBodyStep(message: Request | Response, method: "json" | "text" | "arrayBuffer") {
  if (method !== "json" && method !== "text" && method !== "arrayBuffer") {
    throw new TypeError(`Cannot read a body as "${String(method)}"; use json, text or arrayBuffer.`);
  }
  return message[method]();
}
// A body that cannot be parsed will not parse on a retry either.
Object.assign(readBodyStep, { maxRetries: 0 });

const g = globalThis as unknown as Record<symbol, Map<string, unknown> | undefined>;
g[STEPS_KEY] ??= new Map();
if (!g[STEPS_KEY].has(FETCH_STEP)) g[STEPS_KEY].set(FETCH_STEP, fetchStep);
if (!g[STEPS_KEY].has(READ_BODY_STEP)) g[STEPS_KEY].set(READ_BODY_STEP, readBodyStep);
if (!g[STEPS_KEY].has(EMIT_STEP)) g[STEPS_KEY].set(EMIT_STEP, emitStep);
if (!g[STEPS_KEY].has(START_CHILD_STEP)) g[STEPS_KEY].set(START_CHILD_STEP, startChildStep);
