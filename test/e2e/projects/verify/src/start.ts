/** Starts `fulfil` (left sleeping for an hour) and `quick` (completed), prints their run IDs, and exits. */
import { start } from "workflow/api";
import { fulfil, quick } from "./orders.ts";

const sleeping = await start(fulfil, [process.argv[2] ?? "o1"]);
const done = await start(quick, ["q1"]);
await done.returnValue;
for (;;) {
  if ((await sleeping.events()).some((e) => e.type === "wait_created")) break;
  await new Promise((r) => setTimeout(r, 20));
}
console.log(`RESULT ${JSON.stringify({ sleeping: sleeping.runId, done: done.runId })}`);
process.exit(0);
