/**
 * `mockStep(stepFn, impl)`: replaces a step's implementation, found by the step function itself, until the mock
 * is restored (the `workflow()` Vitest plugin restores every mock after each test). Workflow code calls steps by
 * ID, so the replacement is what every run of this process executes for that step, including its retries; the
 * step's options (`maxRetries`, `timeout`) stay those of the real step.
 */

const STEPS_KEY = Symbol.for("wfkit.steps");

type AnyFn = (...args: any[]) => any;

export interface StepMock<F extends AnyFn> {
  readonly stepId: string;
  /** The arguments of every call of the mock, in order. */
  readonly calls: Parameters<F>[];
  /** Puts the real step back (idempotent). */
  restore(): void;
}

interface Active {
  stepId: string;
  original: unknown;
  restore(): void;
}

const active = new Map<string, Active>();

function registry(): Map<string, unknown> {
  const holder = globalThis as unknown as Record<symbol, Map<string, unknown> | undefined>;
  holder[STEPS_KEY] ??= new Map();
  return holder[STEPS_KEY];
}

export function mockStep<F extends AnyFn>(
  step: F,
  impl: (...args: Parameters<F>) => ReturnType<F> | Awaited<ReturnType<F>>,
): StepMock<F> {
  const stepId = (step as { stepId?: unknown } | undefined)?.stepId;
  if (typeof step !== "function" || typeof stepId !== "string") {
    throw new TypeError(
      'mockStep(): the first argument must be a "use step" function imported from a file the workflow compiler ' +
        "transformed (it carries a stepId), such as a step exported by your workflow file. Got " +
        `${typeof step === "function" ? `function ${step.name || "(anonymous)"} without a stepId` : typeof step}.`,
    );
  }
  if (typeof impl !== "function")
    throw new TypeError(`mockStep(): the replacement for ${stepId} must be a function.`);
  active.get(stepId)?.restore();
  const steps = registry();
  const had = steps.has(stepId);
  const original = steps.get(stepId);
  const calls: Parameters<F>[] = [];
  const mock = function (this: unknown, ...args: Parameters<F>) {
    calls.push(args);
    return impl.apply(this, args);
  };
  // The engine reads the step's options from the registered function.
  for (const key of Object.keys(step)) {
    if (key !== "stepId")
      (mock as unknown as Record<string, unknown>)[key] = (step as Record<string, unknown>)[key];
  }
  Object.defineProperty(mock, "stepId", { value: stepId });
  steps.set(stepId, mock);
  let restored = false;
  const entry: Active = {
    stepId,
    original,
    restore() {
      if (restored) return;
      restored = true;
      if (active.get(stepId) === entry) active.delete(stepId);
      if (steps.get(stepId) !== mock) return;
      if (had) steps.set(stepId, original);
      else steps.delete(stepId);
    },
  };
  active.set(stepId, entry);
  return { stepId, calls, restore: entry.restore };
}

/** Restores every step mocked with `mockStep()`. */
export function restoreStepMocks(): void {
  for (const entry of [...active.values()]) entry.restore();
}
