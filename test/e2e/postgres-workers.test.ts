/**
 * Crash-safe execution by many workers on one Postgres database (the scenarios of support/worker-scenarios.ts): an
 * app only starts runs, three worker processes execute them, and workers are killed with SIGKILL and replaced while
 * the runs are in flight, or frozen with SIGSTOP past their lease. Every run completes, every step has exactly one
 * `step_completed`, and no log has a gap or a fork.
 */
import { it } from "vitest";
import { openPostgres } from "./support/postgres.js";
import { frozenWorkerRecordsNothing, workersKilledAndReplaced } from "./support/worker-scenarios.js";

it(
  "3 workers execute 200 fan-out runs to completion while being SIGKILLed and replaced",
  () => workersKilledAndReplaced(openPostgres, 200),
  120_000,
);

it(
  "a worker frozen with SIGSTOP past its lease cannot record anything once another worker took the run over",
  () => frozenWorkerRecordsNothing(openPostgres),
  60_000,
);
