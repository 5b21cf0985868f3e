/**
 * Crash-safe execution by many workers on one SQLite file (`WORKFLOW_TARGET_WORLD=sqlite`): workers are killed with
 * SIGKILL (often in the middle of a write transaction) and replaced while 200 runs are in flight, and a frozen
 * executor is fenced off by the lease's token. The scenarios are in support/worker-scenarios.ts; the file passes
 * SQLite's integrity check after each.
 */
import { it } from "vitest";
import { openSqlite } from "./support/sqlite.js";
import { frozenWorkerRecordsNothing, workersKilledAndReplaced } from "./support/worker-scenarios.js";

it(
  "3 workers execute 200 fan-out runs on one SQLite file to completion while being SIGKILLed and replaced",
  () => workersKilledAndReplaced(openSqlite),
  120_000,
);

it(
  "a worker frozen with SIGSTOP past its lease cannot record anything once another worker took the run over",
  () => frozenWorkerRecordsNothing(openSqlite),
  60_000,
);
