/**
 * `node --import workflow/register src/main.ts <command>`:
 *   parent <n>            starts a parent run (which starts a child), prints RUN <id>, awaits its result
 *   timed                 starts a run whose step hangs until its timeout, prints RUN <id>, awaits it
 *   query <runId> <name>  asks a run's query from this process (a replay: it executes nothing)
 *   worker                a dedicated worker until killed
 */
import { getRun, start } from "workflow/api";
import { startWorker } from "workflow/runtime";
import { parent, timed } from "./workflows.js";

const [command, arg, extra] = process.argv.slice(2);
const print = (value: unknown) => console.log(`RESULT ${JSON.stringify(value)}`);

if (command === "parent" || command === "timed") {
  const run = command === "parent" ? await start(parent, [Number(arg)]) : await start(timed, []);
  console.log(`RUN ${run.runId}`);
  print({ value: await run.returnValue });
} else if (command === "query") {
  print({ answer: await getRun(arg!).query(extra!) });
  process.exit(0);
} else if (command === "worker") {
  await startWorker({ sweepIntervalMs: 300 });
  console.log(`WORKER ${process.pid} ready`);
} else {
  throw new Error(`unknown command ${command}`);
}
