// Starts the approval workflow and waits for its result.
import { start } from "workflow/api";
import { approval } from "./flows.js";

const run = await start(approval, []);
console.log(JSON.stringify({ runId: run.runId }));
console.log(JSON.stringify({ result: await run.returnValue, status: await run.status }));
