/**
 * Run output streams across processes on the SQLite world: a step in a worker process writes a stream that another
 * process reads live, woken through the SQLite world's change feed (the scenario is in support/worker-scenarios.ts).
 */
import { it } from "vitest";
import { openSqlite } from "./support/sqlite.js";
import { streamFollowedAcrossProcesses } from "./support/worker-scenarios.js";

it(
  "run.getReadable() in one process follows a stream a step writes in a worker process (SQLite)",
  () => streamFollowedAcrossProcesses(openSqlite),
  90_000,
);
