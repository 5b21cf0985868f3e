/** Starts N runs without executing them (WORKFLOW_EXECUTE_RUNS=0): workers elsewhere do. Prints their IDs. */
import { start } from "workflow/api";
import { fanOut } from "./fan-out.js";

const count = Number(process.argv[2] ?? 10);
const ids: string[] = [];
for (let i = 0; i < count; i++) ids.push((await start(fanOut, [i])).runId);
console.log(`RUNS ${JSON.stringify(ids)}`);
