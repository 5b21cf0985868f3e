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
export type Outcome = "done" | "timed-out";

/** One turn: `begin` makes its run current, `run` calls into workflow code (and must not throw), `end` undoes
 *  `begin` (also after the turn was stopped). */
export interface Turn {
  begin(): void;
  run(): void;
  end(): void;
}

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
// The realm's entry (realm-code.ts) calls back into `runJob`.
const VM_ENTRY = new vm.Script('globalThis[Symbol.for("wfkit.enterRun")]()', { filename: "wfkit:enter" });

const TURN_KEY = Symbol.for(`wfkit.turns.${randomUUID()}`);
const TURN_EXPRESSION = `globalThis[Symbol.for(${JSON.stringify(TURN_KEY.description)})]()`;

type Phase = "idle" | "job" | "drain";

/**
 * The turns one bounded evaluation runs: from `index` on, until they are all done, or (once more than one ran)
 * until `cutoffMs` have passed since `startedAt`, so that every turn starts with at least that much time left.
 * `phase` and `index` are left as they are when termination unwinds the evaluation.
 */
interface Pass {
  context: vm.Context;
  turns: readonly Turn[];
  first: number;
  index: number;
  phase: Phase;
  startedAt: number;
  cutoffMs: number;
  running: boolean;
  finished: boolean;
}

let pass: Pass | undefined;

/** Runs the turns of the current pass; called from the bounded evaluation (either mechanism). */
export function runJob(): void {
  const p = pass;
  // The realm's entry is a global: workflow code calling it finds no pass, or the one already running.
  if (!p || p.finished || p.running) return;
  p.running = true;
  while (p.index < p.turns.length) {
    if (p.index > p.first && performance.now() - p.startedAt >= p.cutoffMs) break;
    const turn = p.turns[p.index]!;
    p.phase = "job";
    turn.begin();
    turn.run();
    p.phase = "drain";
    DRAIN.runInContext(p.context);
    p.phase = "idle";
    turn.end();
    p.index++;
  }
  p.finished = true;
}
Object.defineProperty(globalThis, TURN_KEY, { value: runJob });

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

/** Runs the current pass within `timeoutMs`; false when it was stopped. */
function evaluateBounded(p: Pass, timeoutMs: number): boolean {
  if (mechanism() === "inspector") {
    let answered = false;
    session!.post(
      "Runtime.evaluate",
      { expression: TURN_EXPRESSION, timeout: timeoutMs, silent: true, returnByValue: true },
      () => {
        answered = true;
      },
    );
    if (!answered) throw new Error("internal error: the inspector did not answer synchronously");
    return p.finished;
  }
  try {
    VM_ENTRY.runInContext(p.context, { timeout: timeoutMs });
  } catch (error) {
    if ((error as { code?: string }).code === "ERR_SCRIPT_EXECUTION_TIMEOUT") return false;
    throw error;
  }
  return p.finished;
}

/**
 * Runs `turns` in order, each bounded by `limitMs` (0: unbounded): as few bounded evaluations as possible, since
 * arming the bound is what costs. A pass of several turns is bounded by twice the limit and starts no turn once
 * the limit has passed, so a stopped turn ran for at least `limitMs` (a single turn: exactly `limitMs`).
 */
export function runTurns(context: vm.Context, turns: readonly Turn[], limitMs: number): Outcome[] {
  if (pass) throw new Error("internal error: a workflow turn started inside another one");
  const outcomes: Outcome[] = [];
  let next = 0;
  try {
    while (next < turns.length) {
      const p: Pass = {
        context,
        turns,
        first: next,
        index: next,
        phase: "idle",
        startedAt: performance.now(),
        cutoffMs: limitMs,
        running: false,
        finished: false,
      };
      pass = p;
      const asyncId = executionAsyncId();
      if (limitMs === 0) runJob();
      const finished = limitMs === 0 || evaluateBounded(p, turns.length - next > 1 ? 2 * limitMs : limitMs);
      for (let i = next; i < p.index; i++) outcomes[i] = "done";
      next = p.index;
      if (finished) continue;
      restoreAsyncContext(asyncId);
      if (p.phase === "idle") continue;
      const turn = turns[p.index]!;
      outcomes[p.index] = "timed-out";
      turn.end();
      next = p.index + 1;
      // Stopped before its microtasks ran: they are still queued, and must not run in another run's turn.
      if (p.phase === "job") {
        pass = undefined;
        quarantine(context, turn);
      }
    }
  } finally {
    pass = undefined;
  }
  return outcomes;
}

/** Runs out, as `turn`'s run, microtasks it left queued when it was stopped (V8 drops them if this stops too). */
function quarantine(context: vm.Context, turn: Turn): void {
  runTurns(context, [{ begin: () => turn.begin(), run: () => {}, end: () => turn.end() }], QUARANTINE_MS);
}

/** One turn, now. */
export function runTurn(context: vm.Context, turn: Turn, limitMs: number): Outcome {
  return runTurns(context, [turn], limitMs)[0]!;
}

interface Queued {
  context: vm.Context;
  turn: Turn;
  limitMs: number;
  resolve(outcome: Outcome): void;
}

const queued: Queued[] = [];
let flushScheduled = false;

/**
 * One turn at the next `setImmediate`, together with every other turn queued by then (the engine's runs apply
 * their events concurrently): they share bounded evaluations.
 */
export function queueTurn(context: vm.Context, turn: Turn, limitMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    queued.push({ context, turn, limitMs, resolve });
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flushQueued);
    }
  });
}

function flushQueued(): void {
  flushScheduled = false;
  while (queued.length > 0) {
    const { context, limitMs } = queued[0]!;
    let n = 1;
    while (n < queued.length && queued[n]!.limitMs === limitMs && queued[n]!.context === context) n++;
    const batch = queued.splice(0, n);
    const outcomes = runTurns(
      context,
      batch.map((q) => q.turn),
      limitMs,
    );
    for (let i = 0; i < batch.length; i++) batch[i]!.resolve(outcomes[i]!);
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
