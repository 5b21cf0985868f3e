import { appendFileSync } from "node:fs";
import { getStepMetadata } from "workflow";

async function part(i: number, k: number): Promise<number> {
  "use step";
  // Slow enough that workers get killed in the middle of steps.
  await new Promise((resolve) => setTimeout(resolve, 40 + ((i * 7 + k) % 80)));
  if (process.env.LEDGER) appendFileSync(process.env.LEDGER, `${getStepMetadata().stepId} ${process.pid}\n`);
  return i + k;
}

async function combine(a: number, b: number, c: number): Promise<number> {
  "use step";
  return a + b + c;
}

/** Fans out three steps, then combines them: 3i + 6. */
export async function fanOut(i: number): Promise<number> {
  "use workflow";
  const [a, b, c] = await Promise.all([part(i, 1), part(i, 2), part(i, 3)]);
  return await combine(a, b, c);
}

async function slowFirstAttempt(): Promise<string> {
  "use step";
  const { attempt, stepId } = getStepMetadata();
  if (process.env.LEDGER) appendFileSync(process.env.LEDGER, `start ${stepId} ${attempt} ${process.pid}\n`);
  if (attempt === 1) await new Promise((resolve) => setTimeout(resolve, 2_500));
  if (process.env.LEDGER) appendFileSync(process.env.LEDGER, `end ${stepId} ${attempt} ${process.pid}\n`);
  return `attempt ${attempt} by ${process.pid}`;
}

/** One step whose first attempt is slow: the executor is frozen meanwhile, and another worker takes over. */
export async function frozenExecutor(): Promise<string> {
  "use workflow";
  return await slowFirstAttempt();
}
