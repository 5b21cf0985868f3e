import { appendFileSync } from "node:fs";
import { createHook } from "workflow";

/** Appends one line per step body execution, so a test can count executions across processes. */
function ledger(line: string) {
  if (process.env.LEDGER) appendFileSync(process.env.LEDGER, `${line}\n`);
}

async function record(token: string, payload: unknown) {
  "use step";
  ledger(`record ${token}`);
  return { token, payload };
}

async function slow(token: string, ms: number) {
  "use step";
  ledger(`slow ${token}`);
  await new Promise((resolve) => setTimeout(resolve, ms));
  return "slow done";
}

/** Waits for one payload on a chosen token, then records it in a step. */
export async function waitForPayload(token: string) {
  "use workflow";
  const hook = createHook<unknown>({ token });
  const payload = await hook;
  return record(token, payload);
}

/** A long step runs while `count` payloads arrive on the hook. */
export async function stepWhilePayloads(token: string, count: number, stepMs: number) {
  "use workflow";
  const hook = createHook<unknown>({ token });
  const running = slow(token, stepMs);
  const payloads: unknown[] = [];
  for await (const payload of hook) {
    payloads.push(payload);
    if (payloads.length === count) break;
  }
  return { slow: await running, payloads };
}
