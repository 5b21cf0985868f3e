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

/** WDK's `thisSerializationWorkflow`: `.call()` / `.apply()` give a step its `this`. */
async function multiplyByFactor(this: { factor: number }, value: number) {
  "use step";
  return value * this.factor;
}

export async function thisSerializationWorkflow(baseValue: number) {
  "use workflow";
  const result1 = await multiplyByFactor.call({ factor: 2 }, baseValue);
  const result2 = await multiplyByFactor.apply({ factor: 3 }, [result1]);
  const result3 = await multiplyByFactor.call({ factor: 5 }, result2);
  return result3;
}

/** WDK's `stepFunctionWithClosureWorkflow`: a nested step passed as a value takes its closure along. */
async function stepThatCallsStepFn(stepFn: (x: number) => Promise<string>, value: number) {
  "use step";
  const result = await stepFn(value);
  return `Wrapped: ${result}`;
}

export async function stepFunctionWithClosureWorkflow() {
  "use workflow";
  const multiplier = 3;
  const prefix = "Result: ";

  const calculate = async (x: number) => {
    "use step";
    return `${prefix}${x * multiplier}`;
  };

  const result = await stepThatCallsStepFn(calculate, 7);
  return result;
}
