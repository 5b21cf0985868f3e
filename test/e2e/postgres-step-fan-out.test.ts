/**
 * `Promise.all` fan-out of one run's steps across worker processes on one Postgres database (the scenarios of
 * support/worker-scenarios.ts): the run's executor runs one step of the batch and offers the others as step tasks;
 * any worker claims them. Step bodies run in several processes, yet only the executor writes the run's log (one
 * `step_completed` per step), and a worker killed with SIGKILL while holding claimed steps loses none of them: its
 * claims expire and another worker runs them again.
 */
import { it } from "vitest";
import { openPostgres } from "./support/postgres.js";
import { claimerKilledLosesNoStep, stepsSpreadOverWorkers } from "./support/worker-scenarios.js";

it(
  "a run's Promise.all steps run in several worker processes; only the executor records them, once each",
  () => stepsSpreadOverWorkers(openPostgres),
  120_000,
);

it(
  "a worker SIGKILLed while it holds claimed steps loses none of them: another worker runs them again",
  () => claimerKilledLosesNoStep(openPostgres),
  120_000,
);
