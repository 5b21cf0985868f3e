/**
 * Step functions as values (WDK's `stepFunctionPassingWorkflow`): workflow code may pass a step to another
 * step (or return one), and a step may hand one back. The compiler tags every top-level step function with
 * its `stepId` in each shape, so on the wire a step is a reference `{ stepId }` (tag `wfkit.stepFunction`).
 *
 * It revives, inside the sandbox, as the same proxy workflow code calls steps through (a call is a durable
 * step); in host code (a step body), as a function that runs the registered step body directly, in the
 * calling step, as calling a step function from a step does.
 */
import { registerReducer } from "../serialization/index.js";
import { StepNotFoundError } from "./engine-errors.js";
import { stepContext } from "./step-context.js";

const STEPS_KEY = Symbol.for("wfkit.steps");
const USE_STEP_KEY = Symbol.for("wfkit.useStep");
/** Set by the compiler on a nested step's stub: reads the workflow variables the step closes over. */
const STEP_CLOSURE_KEY = Symbol.for("wfkit.stepClosure");
export const STEP_FUNCTION_TAG = "wfkit.stepFunction";

type StepLoader = (stepId: string) => Promise<void> | undefined;
let loader: StepLoader | undefined;

/** The engine's code provider loads step code on demand; set by the engine that runs steps here. */
export function setStepReferenceLoader(load: StepLoader): void {
  loader = load;
}

function stepIdOf(value: unknown): string | undefined {
  if (typeof value !== "function") return undefined;
  const id = (value as { stepId?: unknown }).stepId;
  return typeof id === "string" && id.startsWith("step//") ? id : undefined;
}

function registered(stepId: string): ((...args: unknown[]) => unknown) | undefined {
  const registry = (globalThis as Record<symbol, Map<string, unknown> | undefined>)[STEPS_KEY];
  const fn = registry?.get(stepId);
  return typeof fn === "function" ? (fn as (...args: unknown[]) => unknown) : undefined;
}

/** The host-side function a step reference revives as. */
export function hostStepFunction(
  stepId: string,
  closure?: Record<string, unknown>,
): (...args: unknown[]) => Promise<unknown> {
  const fn = async function (this: unknown, ...args: unknown[]): Promise<unknown> {
    let body = registered(stepId);
    if (!body && loader) {
      await loader(stepId);
      body = registered(stepId);
    }
    if (!body) throw new StepNotFoundError(stepId);
    const run = () => body.apply(this, args);
    // A nested step reads its closure from the step context: give it the one that travelled with it.
    const ctx = stepContext.getStore();
    return closure && ctx ? stepContext.run({ ...ctx, closure }, run) : run();
  };
  Object.defineProperty(fn, "stepId", { value: stepId, enumerable: true });
  return fn;
}

registerReducer({
  tag: STEP_FUNCTION_TAG,
  reduce(value) {
    const stepId = stepIdOf(value);
    if (stepId === undefined) return undefined;
    const thunk = (value as unknown as Record<symbol, unknown>)[STEP_CLOSURE_KEY];
    return typeof thunk === "function" ? { stepId, closure: (thunk as () => unknown)() } : { stepId };
  },
  revive(data, realm) {
    const { stepId, closure } = data as { stepId: string; closure?: Record<string, unknown> };
    if (realm !== globalThis) {
      const useStep = (realm as unknown as Record<symbol, unknown>)[USE_STEP_KEY];
      if (typeof useStep === "function") {
        const thunk = closure ? () => closure : undefined;
        const proxy = (useStep as (id: string, c?: () => unknown) => object)(stepId, thunk);
        Object.defineProperty(proxy, "stepId", { value: stepId, enumerable: true });
        if (thunk) Object.defineProperty(proxy, STEP_CLOSURE_KEY, { value: thunk });
        return proxy;
      }
    }
    return hostStepFunction(stepId, closure);
  },
});
