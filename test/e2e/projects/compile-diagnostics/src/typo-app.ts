import { start } from "workflow/api";
import { typo } from "./typo.js";

const run = await start(typo, [2]);
console.log(
  `RESULT ${JSON.stringify({ id: (typo as unknown as { workflowId: string }).workflowId, value: await run.returnValue })}`,
);
