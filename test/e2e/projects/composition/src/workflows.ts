import { appendFileSync } from "node:fs";
import { getStepMetadata, setQueryHandler, sleep } from "workflow";
import { start } from "workflow/api";

function ledger(line: string) {
  if (process.env.LEDGER) appendFileSync(process.env.LEDGER, `${line}\n`);
}

async function note(line: string) {
  "use step";
  ledger(line);
  return line;
}

/** Hangs until its attempt's signal fires (its timeout), so a worker can be killed while it runs. */
async function hang() {
  "use step";
  const { attempt, signal } = getStepMetadata();
  ledger(`hang attempt ${attempt}`);
  await new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
}
hang.timeout = "1500ms";
hang.maxRetries = 1;

export async function child(n: number) {
  "use workflow";
  await note(`child ${n}`);
  return n * 10;
}

export async function parent(n: number) {
  "use workflow";
  let phase = "starting";
  setQueryHandler("phase", () => phase);
  const run = await start(child, [n]);
  phase = `waiting for ${run.runId}`;
  const value = await run.returnValue;
  phase = "done";
  await sleep("2s");
  return value + 1;
}

export async function timed() {
  "use workflow";
  try {
    await hang();
    return "finished";
  } catch (error) {
    return (error as Error).name;
  }
}
