/**
 * The ABI between compiled user code and the runtime: global symbols, so compiled output needs no import
 * that a bundler or the sandbox would have to resolve, and registration works whatever order modules load in.
 * The compiler (packages/compiler) emits exactly these keys; an end-to-end test checks the two agree.
 *
 * Registries (self-initialising, so a module may load before the runtime):
 *   (globalThis[Symbol.for("wfkit.steps")] ??= new Map()).set(stepId, fn)          step mode
 *   (globalThis[Symbol.for("wfkit.workflows")] ??= new Map()).set(workflowId, fn)  workflow mode
 *
 * Installed by the runtime before the code runs:
 *   globalThis[Symbol.for("wfkit.useStep")](stepId, closure?)  workflow mode; `closure` is a thunk returning
 *       the workflow variables a nested step closes over. Returns `(this: unknown, ...args) => Promise`.
 *       Called at the moment the step is called (not at module evaluation).
 *   globalThis[Symbol.for("wfkit.closure")]()  step mode, inside a hoisted nested step: the closure object
 *       that travelled with the call.
 *   globalThis[Symbol.for("wfkit.runtime")]  the object behind the public `workflow` functions (sleep,
 *       getStepMetadata, getWorkflowMetadata, …); the sandbox installs one per run, the host process one
 *       per process.
 *
 * Properties set on functions:
 *   fn.workflowId = "workflow//<module>//<name>"  (workflow functions, every mode)
 *   fn.stepId = "step//<module>//<name>"          (step functions, client and step mode)
 */
export const STEPS_KEY = Symbol.for("wfkit.steps");
export const WORKFLOWS_KEY = Symbol.for("wfkit.workflows");
export const USE_STEP_KEY = Symbol.for("wfkit.useStep");
export const CLOSURE_KEY = Symbol.for("wfkit.closure");
export const RUNTIME_KEY = Symbol.for("wfkit.runtime");
