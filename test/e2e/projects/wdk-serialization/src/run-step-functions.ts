import { start } from "workflow/api";
import { stepFunctionPassingWorkflow, stepFunctionReturnedWorkflow } from "./step-functions.js";

const passing = await start(stepFunctionPassingWorkflow, []);
const returned = await start(stepFunctionReturnedWorkflow, []);
console.log(
  `RESULT ${JSON.stringify({ passing: await passing.returnValue, returned: await returned.returnValue })}`,
);
