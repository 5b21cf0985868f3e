/** Workflows of the Vercel triggers e2e; their steps append what they did to $LEDGER (one line each). */
import { appendFileSync } from "node:fs";
import { getWorkflowMetadata, waitForEvent } from "workflow";
import type { EmittedEvent } from "workflow/api";

async function record(line: string): Promise<string> {
  "use step";
  if (process.env.LEDGER) appendFileSync(process.env.LEDGER, `${line}\n`);
  return line;
}

/** What a schedule starts. */
export async function tick(label: string): Promise<string> {
  "use workflow";
  return record(`tick ${label} ${getWorkflowMetadata().workflowRunId}`);
}

/** Waits for the next "order.paid" event. */
export async function waitForOrder(i: number) {
  "use workflow";
  const event = await waitForEvent<{ amount: number }>("order.paid");
  await record(`paid ${i} ${event.id}`);
  return { i, id: event.id, data: event.data };
}

/** Started by `trigger(onSignup, { event: "signup" })`. */
export async function onSignup(event: EmittedEvent<{ user: string }>): Promise<string> {
  "use workflow";
  return record(`signup ${event.id} ${event.data.user} ${getWorkflowMetadata().workflowRunId}`);
}

async function work(tag: string, ms: number): Promise<string> {
  "use step";
  if (process.env.LEDGER) appendFileSync(process.env.LEDGER, `start ${tag} ${Date.now()}\n`);
  await new Promise((resolve) => setTimeout(resolve, ms));
  if (process.env.LEDGER) appendFileSync(process.env.LEDGER, `end ${tag} ${Date.now()}\n`);
  return tag;
}

/** At most 2 runs execute steps at once. */
export async function limited(tag: string): Promise<string> {
  "use workflow";
  await work(`${tag}-a`, 300);
  return await work(`${tag}-b`, 300);
}
limited.concurrency = { limit: 2 };
