import { appendFileSync } from "node:fs";
import { createWebhook } from "workflow";

/** `n` steps in a row, each taking `ms`; every body start is logged to $SERVERLESS_MARKS with its process. */
export async function chain(n: number, ms: number): Promise<number> {
  "use workflow";
  let total = 0;
  for (let i = 1; i <= n; i++) total += await work(i, ms);
  return total;
}

async function work(i: number, ms: number): Promise<number> {
  "use step";
  const marks = process.env.SERVERLESS_MARKS;
  if (marks) appendFileSync(marks, `${JSON.stringify({ step: i, pid: process.pid, at: Date.now() })}\n`);
  await new Promise((resolve) => setTimeout(resolve, ms));
  return i * 10;
}

/** Waits for a click on a webhook whose URL a step publishes to $SERVERLESS_MARKS. */
export async function approval(): Promise<string> {
  "use workflow";
  const webhook = createWebhook();
  await publish(webhook.url);
  const request = await webhook;
  return `approved with ${request.method}`;
}

async function publish(url: string): Promise<void> {
  "use step";
  const marks = process.env.SERVERLESS_MARKS;
  if (marks) appendFileSync(marks, `${JSON.stringify({ url })}\n`);
}
