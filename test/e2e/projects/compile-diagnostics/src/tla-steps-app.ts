import { start } from "workflow/api";
import { tlaSteps } from "./tla-steps.js";

const run = await start(tlaSteps, [2]);
console.log(
  `RESULT ${JSON.stringify({ id: (tlaSteps as unknown as { workflowId: string }).workflowId, value: await run.returnValue })}`,
);
