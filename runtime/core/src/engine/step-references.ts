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

const STEPS_KEY = Symbol.for("wfkit.steps");
const USE_STEP_KEY = Symbol.for("wfkit.useStep");
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
export function hostStepFunction(stepId: string): (...args: unknown[]) => Promise<unknown> {
  const fn = async function (this: unknown, ...args: unknown[]): Promise<unknown> {
    let body = registered(stepId);
    if (!body && loader) {
      await loader(stepId);
      body = registered(stepId);
    }
    if (!body) throw new StepNotFoundError(stepId);
    return body.apply(this, args);
  };
  Object.defineProperty(fn, "stepId", { value: stepId, enumerable: true });
  return fn;
}

registerReducer({
  tag: STEP_FUNCTION_TAG,
  reduce(value) {
    const stepId = stepIdOf(value);
    return stepId === undefined ? undefined : { stepId };
  },
  revive(data, realm) {
    const { stepId } = data as { stepId: string };
    if (realm !== globalThis) {
      const useStep = (realm as unknown as Record<symbol, unknown>)[USE_STEP_KEY];
      if (typeof useStep === "function") {
        const proxy = (useStep as (id: string) => object)(stepId);
        Object.defineProperty(proxy, "stepId", { value: stepId, enumerable: true });
        return proxy;
      }
    }
    return hostStepFunction(stepId);
  },
});
