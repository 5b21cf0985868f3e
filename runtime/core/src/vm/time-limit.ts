/**
 * Bounding how long workflow code runs without yielding.
 *
 * The workflow realm has its own microtask queue (`microtaskMode: "afterEvaluate"`): workflow code runs only in
 * a "turn" the host starts on purpose (resolve a step's promise, call the workflow function), and a turn ends
 * once the realm's queue is empty. A turn is bounded by V8's `TerminateExecution`, which the host can only
 * request through two public APIs:
 *
 * - `Runtime.evaluate` with `timeout` over an in-process `inspector.Session` (the default). V8 arms the
 *   termination on a task of its platform's worker pool and cancels it when the evaluation ends: ≈ 20–35 µs
 *   per turn here.
 * - `vm.Script#runInContext({ timeout })` (when the inspector is not available, e.g. a Node built without it).
 *   Node starts a watchdog thread per call: ≈ 170–250 µs per turn on the same machine, which is why it is only
 *   the fallback.
 *
 * Either way a turn that runs too long is unwound (host frames between the entry and workflow code included,
 * which is why a turn's bookkeeping is reset by the caller, not in `finally` blocks) and the caller fails the run
 * with `WorkflowTimeoutError`. V8 clears a microtask queue when termination interrupts it; a turn interrupted
 * before it reached its microtasks leaves them queued, so they are run out in a short quarantine turn of their
 * own run, and other runs never see them.
 *
 * Termination inside a promise reaction of the realm also skips Node's async-hooks "after" of that reaction
 * (Node's promise hooks are installed in vm contexts too), which leaves Node's async context stack one entry
 * too deep, and Node aborts the process at its next consistency check ("async hook stack has become corrupted",
 * nodejs/node#38503, still open; the same happens with `vm` timeouts). Any AsyncLocalStorage in the process
 * (the engine's own included) turns those hooks on. After a stopped turn the stack is therefore popped back to
 * where it was, with Node's own `popAsyncContext` (there is no public API for it: `process.binding`, DEP0111,
 * read once, with its deprecation warning silenced because the application did not ask for it).
 */
import { executionAsyncId } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import * as vm from "node:vm";

/** Default bound of one turn of workflow code, in milliseconds. */
export const DEFAULT_TIME_LIMIT_MS = 5000;
/** How long a quarantine turn may run out microtasks left by an interrupted turn. */
const QUARANTINE_MS = 100;

/** Workflow code ran longer than the limit without awaiting anything: the run fails with this error. */
export class WorkflowTimeoutError extends Error {
  readonly code = "WORKFLOW_TIMEOUT";
  constructor(readonly limitMs: number) {
    super(
      `Workflow code ran for more than ${limitMs} ms without yielding (an endless loop, or CPU-heavy work), so it ` +
        "was stopped: while it runs, no other run in this process can make progress. Move loops and CPU-heavy work " +
        'into a "use step" function, which runs outside the workflow sandbox, or raise the limit with ' +
        "WORKFLOW_CODE_TIMEOUT_MS (0 turns it off).",
    );
    this.name = "WorkflowTimeoutError";
  }
}

/** `WORKFLOW_CODE_TIMEOUT_MS`, else `DEFAULT_TIME_LIMIT_MS`; 0 means no limit. */
export function timeLimitFromEnv(env: Record<string, string | undefined> = process.env): number {
  const raw = env.WORKFLOW_CODE_TIMEOUT_MS;
  if (raw === undefined || raw.trim() === "") return DEFAULT_TIME_LIMIT_MS;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms < 0) {
    throw new Error(
      `WORKFLOW_CODE_TIMEOUT_MS must be a whole number of milliseconds (0 for no limit), got "${raw}".`,
    );
  }
  return ms;
}

type Mechanism = "inspector" | "vm";
type Outcome = "done" | "timed-out";

interface Inspector {
  post(method: string, params: object, callback: (error: Error | null, result?: unknown) => void): void;
}

let session: Inspector | null | undefined;
let forced: Mechanism | undefined;

/** Tests: force one mechanism (undefined: the best available). */
export function useTimeLimitMechanism(mechanism: Mechanism | undefined): void {
  forced = mechanism;
}

const DRAIN = new vm.Script("0", { filename: "wfkit:drain" });
// The realm's entry (realm-code.ts) calls back into `runJob`; after the script, Node drains the realm's queue.
const VM_ENTRY = new vm.Script('globalThis[Symbol.for("wfkit.enterRun")]()', { filename: "wfkit:enter" });

const TURN_KEY = Symbol.for(`wfkit.turn.${randomUUID()}`);
const TURN_EXPRESSION = `globalThis[Symbol.for(${JSON.stringify(TURN_KEY.description)})]()`;

let job: (() => void) | undefined;
let context: vm.Context | undefined;
type Phase = "job" | "drain" | "done";
/** Where the turn in progress is: left as is when termination unwinds it (read through `phaseNow`, which
 *  TypeScript does not narrow across the calls that change it). */
let phase: Phase = "done";
const phaseNow = (): Phase => phase;

/** Called from the realm's entry (vm mechanism) and from the inspector's evaluation: runs the queued job. */
export function runJob(): void {
  const current = job;
  job = undefined;
  phase = "job";
  current?.();
  phase = "drain";
}

function inspectorTurn(): void {
  runJob();
  DRAIN.runInContext(context!);
  phase = "done";
}
Object.defineProperty(globalThis, TURN_KEY, { value: inspectorTurn });

function openSession(): Inspector | null {
  try {
    const inspector = createRequire(import.meta.url)("node:inspector") as typeof import("node:inspector");
    const s = new inspector.Session();
    s.connect();
    // The protocol answers a same-thread session synchronously; this mechanism relies on it.
    let answered = false;
    s.post("Runtime.evaluate", { expression: "0", returnByValue: true }, () => {
      answered = true;
    });
    if (!answered) {
      s.disconnect();
      return null;
    }
    return s as unknown as Inspector;
  } catch {
    return null;
  }
}

function mechanism(): Mechanism {
  if (forced) return forced;
  if (session === undefined) session = openSession();
  return session ? "inspector" : "vm";
}

/**
 * Runs `fn` and then the realm's microtasks, as one turn bounded by `limitMs` (0: unbounded). `fn` must not
 * throw (callers catch inside it). Returns "timed-out" when the turn was stopped; turns do not nest.
 */
export function runTurn(realmContext: vm.Context, fn: () => void, limitMs: number): Outcome {
  if (job !== undefined || phaseNow() !== "done") {
    throw new Error("internal error: a workflow turn started inside another one");
  }
  context = realmContext;
  job = fn;
  const asyncId = executionAsyncId();
  let outcome: Outcome;
  try {
    outcome = limitMs > 0 ? bounded(limitMs) : unbounded();
  } finally {
    job = undefined;
  }
  if (outcome === "timed-out") {
    restoreAsyncContext(asyncId);
    const interrupted = phaseNow();
    phase = "done";
    // Interrupted before its microtasks ran: they are still queued, and must not run in another run's turn.
    if (interrupted === "job") quarantine(asyncId);
  }
  phase = "done";
  return outcome;
}

function unbounded(): Outcome {
  runJob();
  DRAIN.runInContext(context!);
  phase = "done";
  return "done";
}

function bounded(limitMs: number): Outcome {
  if (mechanism() === "inspector") {
    let reply: { error: Error | null } | undefined;
    session!.post(
      "Runtime.evaluate",
      { expression: TURN_EXPRESSION, timeout: limitMs, silent: true, returnByValue: true },
      (error) => {
        reply = { error };
      },
    );
    if (phaseNow() === "done") return "done";
    if (!reply) throw new Error("internal error: the inspector did not answer synchronously");
    return "timed-out";
  }
  try {
    VM_ENTRY.runInContext(context!, { timeout: limitMs });
  } catch (error) {
    if ((error as { code?: string }).code === "ERR_SCRIPT_EXECUTION_TIMEOUT") return "timed-out";
    throw error;
  }
  phase = "done";
  return "done";
}

function quarantine(asyncId: number): void {
  for (let i = 0; i < 3; i++) {
    job = () => {};
    const outcome = bounded(QUARANTINE_MS);
    job = undefined;
    if (outcome === "timed-out") restoreAsyncContext(asyncId);
    const interrupted = phaseNow();
    phase = "done";
    if (outcome === "done" || interrupted === "drain") return;
  }
}

let popAsyncContext: ((asyncId: number) => boolean) | null | undefined;

/** Pops the async contexts a stopped turn left behind, until `asyncId` is the current one again. */
function restoreAsyncContext(asyncId: number): void {
  if (executionAsyncId() === asyncId) return;
  if (popAsyncContext === undefined) {
    const quiet = process.noDeprecation;
    process.noDeprecation = true;
    try {
      const binding = (process as unknown as { binding(name: string): Record<string, unknown> }).binding(
        "async_wrap",
      );
      popAsyncContext =
        typeof binding.popAsyncContext === "function"
          ? (binding.popAsyncContext as (asyncId: number) => boolean)
          : null;
    } catch {
      popAsyncContext = null;
    } finally {
      process.noDeprecation = quiet;
    }
  }
  for (let i = 0; i < 16 && popAsyncContext && executionAsyncId() !== asyncId; i++) {
    popAsyncContext(executionAsyncId());
  }
}
