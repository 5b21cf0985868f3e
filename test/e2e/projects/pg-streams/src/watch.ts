/**
 * Starts a ticker run without executing it (WORKFLOW_EXECUTE_RUNS=0; a worker elsewhere does), reads its
 * stream live, printing each chunk as it arrives, then prints the run's result.
 */
import { start } from "workflow/api";
import { ticker } from "./ticker.js";

const run = await start(ticker, [process.argv[2]!]);
console.log(`RUN ${run.runId}`);
for await (const chunk of run.getReadable<string>()) console.log(`CHUNK ${chunk}`);
console.log(`RESULT ${JSON.stringify({ pid: await run.returnValue, self: process.pid })}`);
