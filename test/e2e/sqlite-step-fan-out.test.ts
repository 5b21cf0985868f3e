/**
 * `Promise.all` fan-out of one run's steps across worker processes on one SQLite file: the run's executor runs one
 * step of the batch and offers the others as step tasks, which workers woken through the SQLite world's change feed
 * claim. Only the executor writes the run's log, and a worker killed while holding claimed steps loses none of them.
 * The scenarios are in support/worker-scenarios.ts.
 */
import { it } from "vitest";
import { openSqlite } from "./support/sqlite.js";
import { claimerKilledLosesNoStep, stepsSpreadOverWorkers } from "./support/worker-scenarios.js";

it(
  "a run's Promise.all steps run in several worker processes; only the executor records them, once each",
  () => stepsSpreadOverWorkers(openSqlite),
  120_000,
);

it(
  "a worker SIGKILLed while it holds claimed steps loses none of them: another worker runs them again",
  () => claimerKilledLosesNoStep(openSqlite),
  120_000,
);
