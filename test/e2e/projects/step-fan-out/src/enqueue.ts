/** Starts `count` runs of spread(n, ms) without executing them (WORKFLOW_EXECUTE_RUNS=0); prints their IDs. */
import { start } from "workflow/api";
import { spread } from "./spread.js";

const [count, n, ms] = process.argv.slice(2).map(Number);
const ids: string[] = [];
for (let i = 0; i < count!; i++) ids.push((await start(spread, [n!, ms!])).runId);
console.log(`RUNS ${JSON.stringify(ids)}`);
