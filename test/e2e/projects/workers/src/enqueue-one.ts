/** Starts one run of the named workflow without executing it (WORKFLOW_EXECUTE_RUNS=0) and prints its ID. */
import { start } from "workflow/api";
import * as workflows from "./fan-out.js";

const fn = (workflows as Record<string, unknown>)[process.argv[2]!] as () => Promise<unknown>;
console.log(`RUN ${(await start(fn, [])).runId}`);
