/**
 * `node --import workflow/register src/run.ts start <question>` starts the agent, prints `RUN <id>`, then the run's
 * result and the UI chunks it streamed; `src/run.ts await <runId>` does the same for an existing run (after a crash).
 */
import { getRun, start } from "workflow/api";
import { weatherAgent } from "./workflows.js";

const [command, arg] = process.argv.slice(2);
const run = command === "start" ? await start(weatherAgent, [arg!]) : getRun(arg!);
console.log(`RUN ${run.runId}`);
const value = await run.returnValue;
const chunks: Array<{ type: string; [key: string]: unknown }> = [];
for await (const chunk of run.getReadable()) chunks.push(chunk as never);
console.log(`RESULT ${JSON.stringify({ value, status: await run.status, chunks })}`);
