/**
 * `node --import workflow/register src/run.ts start <question>` starts the agent, prints `RUN <id>`, then the run's
 * result and the UI chunks it streamed; `src/run.ts await <runId>` does the same for an existing run (after a crash).
 */
import { getHookByToken, getRun, start } from "workflow/api";
import { bookingAgent, bookingApprovalHook, weatherAgent } from "./workflows.js";

const [command, arg] = process.argv.slice(2);
const run =
  command === "start"
    ? await start(weatherAgent, [arg!])
    : command === "book"
      ? await start(bookingAgent, [arg!])
      : getRun(arg!);
if (command === "book") {
  // The mock model numbers its tool calls: the approval is the second (its toolCallId is the hook's token).
  const began = Date.now();
  for (let i = 0; i < 3000; i++) {
    if (await getHookByToken("call-2").catch(() => undefined)) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  console.log(`HOOK_AFTER_MS ${Date.now() - began}`);
  await bookingApprovalHook.resume("call-2", { approved: true, comment: "window seat" });
}
console.log(`RUN ${run.runId}`);
const value = await run.returnValue;
const chunks: Array<{ type: string; [key: string]: unknown }> = [];
for await (const chunk of run.getReadable()) chunks.push(chunk as never);
console.log(`RESULT ${JSON.stringify({ value, status: await run.status, chunks })}`);
