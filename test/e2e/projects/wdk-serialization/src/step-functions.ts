/** WDK's `stepFunctionPassingWorkflow`, unchanged but for the names of the extra checks. */
export async function stepFunctionPassingWorkflow() {
  "use workflow";
  // Pass a step function reference to another step (without closure vars)
  const result = await stepWithStepFunctionArg(doubleNumber);
  return result;
}

async function stepWithStepFunctionArg(stepFn: (x: number) => Promise<number>) {
  "use step";
  // Call the passed step function reference
  const result = await stepFn(10);
  return result * 2;
}

async function doubleNumber(x: number) {
  "use step";
  return x * 2;
}

/** A step handed back to the workflow is called there as a durable step. */
async function pickStep(name: string) {
  "use step";
  return name === "double" ? doubleNumber : tripleNumber;
}

async function tripleNumber(x: number) {
  "use step";
  return x * 3;
}

export async function stepFunctionReturnedWorkflow() {
  "use workflow";
  const triple = await pickStep("triple");
  return await triple(7);
}
