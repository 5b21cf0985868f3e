/**
 * Run output streams across processes on the Postgres world (the scenario of support/worker-scenarios.ts): a worker
 * process executes the run and its step writes to `getWritable()`; another process, which only started the run,
 * reads `run.getReadable()` live, woken through LISTEN/NOTIFY while the step is still writing.
 */
import { it } from "vitest";
import { openPostgres } from "./support/postgres.js";
import { streamFollowedAcrossProcesses } from "./support/worker-scenarios.js";

it(
  "run.getReadable() in one process follows a stream a step writes in a worker process",
  () => streamFollowedAcrossProcesses(openPostgres),
  90_000,
);
