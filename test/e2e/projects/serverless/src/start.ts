// The app side: starts a run on the world WORKFLOW_TARGET_WORLD names and waits for its result.
import { start } from "workflow/api";
import { chain } from "./flows.js";

const [n, ms] = process.argv.slice(2).map(Number);
const run = await start(chain, [n, ms]);
console.log(JSON.stringify({ runId: run.runId }));
try {
  console.log(JSON.stringify({ result: await run.returnValue, status: await run.status }));
} catch (error) {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  console.log(JSON.stringify({ status: await run.status, code: cause?.code, message: cause?.message }));
}
