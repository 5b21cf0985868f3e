/**
 * `workflow/testing`: what tests of workflows need beyond running them. `mockStep()` replaces a step for one test,
 * virtual time (`useVirtualTime()`, `advanceTime()`) makes sleeps and retry back-offs instant or test-driven, and
 * `replayRun()` checks a recorded run (`wf export`) against the current code. Works with any test runner once the
 * runtime has a world and the workflow code (the `workflow()` Vitest plugin from `workflow/vitest` does that).
 */

export type { RunExport } from "./run-export.js";
export { mockStep, restoreStepMocks, type StepMock } from "./testing/mock-step.js";
export {
  exportRun,
  type ReplayResult,
  type ReplayRunOptions,
  type RunLog,
  replayRun,
} from "./testing/replay-run.js";
export {
  advanceTime,
  useRealTime,
  useVirtualTime,
  VirtualClock,
  type VirtualTimeOptions,
} from "./testing/virtual-time.js";
