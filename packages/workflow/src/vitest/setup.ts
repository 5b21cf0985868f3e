/**
 * The setup file the `workflow()` plugin adds to Vitest: each test file gets a fresh test world, and each test
 * ends with its step mocks restored and the wall clock back.
 */
import { afterAll, afterEach, beforeAll } from "vitest";
import { restoreStepMocks } from "../testing/mock-step.js";
import { useRealTime } from "../testing/virtual-time.js";
import { setupWorkflowTests, teardownWorkflowTests } from "./setup-tests.js";

beforeAll(async () => {
  await setupWorkflowTests();
});

afterEach(() => {
  restoreStepMocks();
  useRealTime();
});

afterAll(async () => {
  await teardownWorkflowTests();
});
