/**
 * Starts runs without executing them (WORKFLOW_EXECUTE_RUNS=0), as an app next to workers would, and prints their
 * IDs: `start.ts <workflow> <json array of [args, priority?]> [gap ms]`.
 */
import { start } from "workflow/api";
import { debounced, limited, single, throttled } from "./flows.js";

const workflows = { limited, throttled, debounced, single } as Record<
  string,
  (...args: never[]) => Promise<string>
>;
const workflow = workflows[process.argv[2]!]!;
const starts = JSON.parse(process.argv[3]!) as [unknown[], number?][];
const gapMs = Number(process.argv[4] ?? 0);
const ids: string[] = [];
for (const [args, priority] of starts) {
  const run = await start(workflow, args as never[], priority === undefined ? {} : { priority });
  ids.push(run.runId);
  if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
}
console.log(`RUNS ${JSON.stringify(ids)}`);
