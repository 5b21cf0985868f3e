/**
 * `workflow/vitest`: run workflows in-process in Vitest with the names of WDK's `@workflow/vitest`: the
 * `workflow()` plugin, `setupWorkflowTests()` / `teardownWorkflowTests()` for a manual setup, and
 * `waitForSleep()` / `waitForHook()` to reach a point of a run before waking or resuming it. Mocks, virtual
 * time and replays are in `workflow/testing`.
 */
export { type VitestPlugin, type WorkflowPluginOptions, workflow } from "./vitest/plugin.js";
export {
  buildWorkflowTests,
  setupWorkflowTests,
  teardownWorkflowTests,
  type WorkflowTestOptions,
} from "./vitest/setup-tests.js";
export { type WaitOptions, type WatchedRun, waitForHook, waitForSleep } from "./vitest/wait.js";
