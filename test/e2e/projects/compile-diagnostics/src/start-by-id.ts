/** start() with an ID string, as WDK documents it: the current form, and the form runs recorded earlier carry. */
import { start } from "workflow/api";

const current = await start("workflow//src/tla-steps.ts//tlaSteps", [2]);
const earlier = await start("workflow//./src/tla-steps//tlaSteps", [3]);
console.log(
  `RESULT ${JSON.stringify({ current: await current.returnValue, earlier: await earlier.returnValue })}`,
);
