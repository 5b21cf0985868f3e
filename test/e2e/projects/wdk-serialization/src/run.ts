import { start } from "workflow/api";
import { geometry } from "./flows.js";
import { Point } from "./point.js";

const run = await start(geometry, [10, 20]);
const value = await run.returnValue;
console.log(`RESULT ${JSON.stringify({ ...value, appSawPoint: value.doubled instanceof Point })}`);
