/**
 * The flow function: the queue consumer Vercel invokes once per flow message. Each invocation drives one run
 * for at most its budget (`runInvocation`) and answers; the message is acknowledged (by `@vercel/queue`'s
 * `handleCallback`) unless the run is held by another invocation or its code is not in this deployment, when it
 * is rescheduled. A killed invocation acknowledges nothing, so the queue delivers the message again.
 */
import {
  type CodeProvider,
  createBuiltCodeProvider,
  Engine,
  type InvocationResult,
  runInvocation,
  stepBudgetFromEnv,
} from "@wfkit/core";
import { handleTickMessage, isTickMessage, type TickMessage } from "./ticks.js";
import {
  createVercelWorld,
  type RunMessage,
  type VercelWorld,
  type VercelWorldOptions,
} from "./vercel-world.js";

export interface FlowHandlerOptions {
  /** The world (default: `createVercelWorld()` from the environment, opened on the first message). */
  world?: VercelWorld | (() => Promise<VercelWorld>);
  worldOptions?: VercelWorldOptions;
  /** The workflow and step code (default: the `wf build` output in `build`). */
  codeProvider?: CodeProvider;
  /** The build output folder (default `WORKFLOW_BUILD_DIR`, else `.workflow` beside the process's cwd). */
  build?: string;
  /** The invocation budget in ms (default `WORKFLOW_STEP_BUDGET_MS`, else 300,000 ms: set it to maxDuration). */
  budgetMs?: number;
  /** When a message cannot be handled now (run busy elsewhere, code elsewhere): seconds until it comes back. */
  retryAfterSeconds?: number;
  /** Called with each invocation's result (logging, tests). */
  onInvocation?: (result: InvocationResult) => void;
}

/** Thrown inside the consumer so that `handleCallback` reschedules the message instead of acknowledging it. */
class RetryLater extends Error {
  constructor(
    what: string,
    readonly afterSeconds?: number,
  ) {
    super(`${what}; its message comes back later`);
    this.name = "RetryLater";
  }
}

export function createFlowHandler(opts: FlowHandlerOptions = {}): (request: Request) => Promise<Response> {
  let world: Promise<VercelWorld> | undefined;
  const openWorld = () => {
    world ??=
      typeof opts.world === "function"
        ? opts.world()
        : opts.world
          ? Promise.resolve(opts.world)
          : createVercelWorld(opts.worldOptions);
    return world;
  };
  let code: CodeProvider | undefined = opts.codeProvider;
  let tickEngine: Engine | undefined;
  const budgetMs = opts.budgetMs ?? stepBudgetFromEnv();
  const retryAfterSeconds = opts.retryAfterSeconds ?? 1;
  // On Vercel the deployment's own URL is what webhook URLs and getWorkflowMetadata().url should name.
  const vercelHost = process.env.VERCEL_PROJECT_PRODUCTION_URL || process.env.VERCEL_URL;
  if (!process.env.WORKFLOW_BASE_URL && vercelHost) process.env.WORKFLOW_BASE_URL = `https://${vercelHost}`;
  return async (request) => {
    // The budget counts from the request, not from when the world (a database connection) is open.
    const arrivedAt = Date.now();
    const w = await openWorld();
    code ??= createBuiltCodeProvider({ dir: opts.build ?? process.env.WORKFLOW_BUILD_DIR ?? ".workflow" });
    // A consumer per request (outside @vercel/queue's dev mode only a closure): each keeps its own arrival time.
    const handler = w.queue.handleCallback<RunMessage | TickMessage>(
      async (message) => {
        if (isTickMessage(message)) {
          // [schedules] A schedule's tick (ticks.ts): starts its run, which comes back as a run message.
          tickEngine ??= new Engine({ world: w, executeRuns: false, sweepIntervalMs: false });
          const early = await handleTickMessage(tickEngine, w, message);
          if (early !== undefined)
            throw new RetryLater(`tick ${message.tick} of "${message.schedule}" is not due`, early);
          return;
        }
        if (!message || typeof message.runId !== "string") {
          throw new TypeError(
            `a flow message is { runId: string } or { schedule: string, tick: number }, got ${JSON.stringify(message)}`,
          );
        }
        const result = await runInvocation({
          runId: message.runId,
          startedAt: arrivedAt,
          world: w,
          codeProvider: code!,
          budgetMs,
          // One message per wake-up, however many invocations find the run waiting for it.
          enqueue: (runId, delayMs, wakeAt) =>
            w.enqueueRun(runId, delayMs, wakeAt === undefined ? undefined : `${runId}:wake:${wakeAt}`),
        });
        opts.onInvocation?.(result);
        if (result.outcome === "busy" || result.outcome === "code-unavailable")
          throw new RetryLater(`run ${result.runId} is ${result.outcome}`);
      },
      {
        retry: (error) =>
          error instanceof RetryLater ? { afterSeconds: error.afterSeconds ?? retryAfterSeconds } : undefined,
      },
    );
    return handler(request);
  };
}
