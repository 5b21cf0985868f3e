import { appendFileSync } from "node:fs";
import { getStepMetadata } from "workflow";

/** Records where and when it ran, waits `ms`, and returns the process that ran it. */
async function work(k: number, ms: number): Promise<{ k: number; pid: number; attempt: number }> {
  "use step";
  const { stepId, attempt } = getStepMetadata();
  if (process.env.LEDGER) appendFileSync(process.env.LEDGER, `start ${stepId} ${attempt} ${process.pid}\n`);
  await new Promise((resolve) => setTimeout(resolve, ms));
  return { k, pid: process.pid, attempt };
}

/** A Promise.all of `n` steps: the executor runs one, the others are offered to any worker. */
export async function spread(n: number, ms: number) {
  "use workflow";
  return await Promise.all(Array.from({ length: n }, (_, k) => work(k, ms)));
}
