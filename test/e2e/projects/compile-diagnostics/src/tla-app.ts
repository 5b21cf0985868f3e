import { start } from "workflow/api";
import { tla } from "./tla.js";

const run = await start(tla, [2]);
console.log(
  `RESULT ${JSON.stringify({ id: (tla as unknown as { workflowId: string }).workflowId, value: await run.returnValue })}`,
);
