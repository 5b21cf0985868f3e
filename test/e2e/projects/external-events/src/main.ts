/**
 * `node --import workflow/register src/main.ts <command> …`: one process of a multi-process scenario; prints
 * `RUN <id>` lines, `DELIVERED <token>` lines and `RESULT <json>`.
 *
 *   start-wait <prefix> <count>            starts <count> runs waiting on tokens <prefix>-0…, awaits them all
 *   start <prefix> <count>                 starts them and exits (with WORKFLOW_EXECUTE_RUNS=0: records only)
 *   resume <prefix> <from> <to> [pause ms] resumes tokens <prefix>-<from>…<to - 1> with payload "p-<i>"
 *                                          (SKIP_GONE=1: a token whose run already ended is skipped)
 *   resume-same <token> <count> <pause ms> resumes one token <count> times with payloads "p-0"…
 *   step-while <token> <count> <stepMs>     a long step runs while <count> payloads arrive; awaits the result
 *   worker                                 a dedicated worker until killed
 */

import { getHookByToken, resumeHook, start } from "workflow/api";
import { startWorker } from "workflow/runtime";
import { stepWhilePayloads, waitForPayload } from "./workflows.js";

const [command, a, b, c, d] = process.argv.slice(2);
const print = (value: unknown) => console.log(`RESULT ${JSON.stringify(value)}`);
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until some process has recorded the hook (the run reached `createHook`). */
async function untilHook(token: string) {
  for (let i = 0; i < 3000; i++) {
    try {
      return await getHookByToken(token);
    } catch {
      await pause(10);
    }
  }
  throw new Error(`no hook ${token}`);
}

if (command === "start-wait" || command === "start") {
  const count = Number(b);
  const runs = [];
  for (let i = 0; i < count; i++) runs.push(await start(waitForPayload, [`${a}-${i}`]));
  console.log(`RUNS ${JSON.stringify(runs.map((r) => r.runId))}`);
  if (command === "start-wait") {
    const values = await Promise.all(runs.map((r) => r.returnValue));
    print({ values });
  }
} else if (command === "resume") {
  const from = Number(b);
  const to = Number(c);
  const gap = Number(d ?? 0);
  for (let i = from; i < to; i++) {
    const token = `${a}-${i}`;
    try {
      if (!process.env.SKIP_GONE) await untilHook(token);
      await resumeHook(token, `p-${i}`);
      console.log(`DELIVERED ${token}`);
    } catch (error) {
      if (!process.env.SKIP_GONE || (error as Error).name !== "HookNotFoundError") throw error;
      console.log(`GONE ${token}`);
    }
    if (gap > 0) await pause(gap);
  }
  print({ delivered: to - from });
  // Exit at once, as a webhook server's request handler or a script would.
  process.exit(0);
} else if (command === "resume-same") {
  await untilHook(a!);
  for (let i = 0; i < Number(b); i++) {
    await resumeHook(a!, `p-${i}`);
    console.log(`DELIVERED ${a} p-${i}`);
    await pause(Number(c));
  }
  process.exit(0);
} else if (command === "step-while") {
  const run = await start(stepWhilePayloads, [a!, Number(b), Number(c)]);
  console.log(`RUN ${run.runId}`);
  print({ value: await run.returnValue });
} else if (command === "worker") {
  await startWorker({ sweepIntervalMs: 500 });
  console.log(`WORKER ${process.pid} ready`);
} else {
  throw new Error(`unknown command ${command}`);
}
