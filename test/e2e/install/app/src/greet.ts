import { createWebhook, sleep } from "workflow";

/** A step, a durable sleep and a webhook: the parts of the runtime an installed app needs. */
export async function welcome(name: string) {
  "use workflow";
  const greeting = await greet(name);
  await sleep("200ms");
  const webhook = createWebhook();
  await announce(webhook.url);
  const request = await webhook;
  return `${greeting}, ${(await request.json()).from}!`;
}

async function greet(name: string) {
  "use step";
  return `hello ${name}`;
}

async function announce(url: string) {
  "use step";
  // Steps run in the app's process: main.ts is listening for the URL.
  (globalThis as { onWebhookUrl?: (url: string) => void }).onWebhookUrl?.(url);
}
