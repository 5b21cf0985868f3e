/**
 * The app side of the Vercel triggers e2e (`node --import workflow/register src/main.ts <command> …` with
 * WORKFLOW_TARGET_WORLD=vercel): records what it is asked to and prints `RESULT <json>`; the queue's invocations
 * execute the runs.
 *
 *   schedule <name> <cron> [catchUp]   creates (or updates) a schedule of `tick` (overlap "allow")
 *   unschedule <name>                  deletes it
 *   waiters <count>                    starts <count> runs of waitForOrder
 *   emit <name> <json data> <id>       emits an event
 *   trigger                            registers onSignup for "signup"
 *   limited <count>                    starts <count> runs of limited
 */
import { deleteSchedule, emit, schedule, start, trigger } from "workflow/api";
import { limited, onSignup, tick, waitForOrder } from "./flows.js";

const [command, a, b, c] = process.argv.slice(2);
const print = (value: unknown) => console.log(`RESULT ${JSON.stringify(value)}`);

if (command === "schedule") {
  print(
    await schedule(a!, tick, {
      cron: b!,
      args: [a!],
      overlap: "allow",
      catchUp: (c ?? "latest") as "latest",
    }),
  );
} else if (command === "unschedule") {
  print(await deleteSchedule(a!));
} else if (command === "waiters") {
  const runs: string[] = [];
  for (let i = 0; i < Number(a); i++) runs.push((await start(waitForOrder, [i])).runId);
  print({ runs });
} else if (command === "emit") {
  print(await emit(a!, JSON.parse(b!), { id: c! }));
} else if (command === "trigger") {
  await trigger(onSignup, { event: "signup" });
  print({ ok: true });
} else if (command === "limited") {
  const runs: string[] = [];
  for (let i = 0; i < Number(a); i++) runs.push((await start(limited, [`r${i}`])).runId);
  print({ runs });
} else {
  throw new Error(`unknown command ${command}`);
}
process.exit(0);
