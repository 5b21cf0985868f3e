/**
 * `node --import workflow/register src/main.ts <command> …`: one process of a scenario; prints `RESULT <json>`.
 *
 *   worker                              a dedicated worker until killed
 *   schedule <name> <cron> [catchUp]    creates (or updates) the schedule of `tick`
 *   waiters <count>                     starts <count> runs of waitForOrder (with WORKFLOW_EXECUTE_RUNS=0: records only)
 *   emit <name> <json data> [id]        emits an event
 *   trigger                             registers onSignup for "signup"
 *   relay                               runs relay here (emits from workflow and step code)
 *   wait-in-vain                        runs waitInVain here and prints its result
 */
import { emit, schedule, start, trigger } from "workflow/api";
import { startWorker } from "workflow/runtime";
import { onSignup, relay, tick, waitForOrder, waitInVain } from "./workflows.js";

const [command, a, b, c] = process.argv.slice(2);
const print = (value: unknown) => console.log(`RESULT ${JSON.stringify(value)}`);

if (command === "worker") {
  await startWorker({ sweepIntervalMs: 500 });
  console.log(`WORKER ${process.pid} ready`);
} else if (command === "schedule") {
  const info = await schedule(a!, tick, {
    cron: b!,
    args: [a!],
    catchUp: (c ?? "latest") as "latest" | "none",
  });
  print(info);
  process.exit(0);
} else if (command === "waiters") {
  const runs = [];
  for (let i = 0; i < Number(a); i++) runs.push((await start(waitForOrder, [i])).runId);
  print({ runs });
  process.exit(0);
} else if (command === "emit") {
  print(await emit(a!, JSON.parse(b!), c === undefined ? {} : { id: c }));
  process.exit(0);
} else if (command === "trigger") {
  await trigger(onSignup, { event: "signup" });
  print({ ok: true });
  process.exit(0);
} else if (command === "relay") {
  const run = await start(relay);
  print(await run.returnValue);
  process.exit(0);
} else if (command === "wait-in-vain") {
  const run = await start(waitInVain);
  print(await run.returnValue);
  process.exit(0);
} else {
  throw new Error(`unknown command ${command}`);
}
