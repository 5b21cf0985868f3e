import { start } from "workflow/api";
import {
  stepFunctionPassingWorkflow,
  stepFunctionReturnedWorkflow,
  stepFunctionWithClosureWorkflow,
  thisSerializationWorkflow,
} from "./step-functions.js";

const passing = await start(stepFunctionPassingWorkflow, []);
const returned = await start(stepFunctionReturnedWorkflow, []);
const self = await start(thisSerializationWorkflow, [10]);
const closure = await start(stepFunctionWithClosureWorkflow, []);
console.log(
  `RESULT ${JSON.stringify({ passing: await passing.returnValue, returned: await returned.returnValue, self: await self.returnValue, closure: await closure.returnValue })}`,
);
