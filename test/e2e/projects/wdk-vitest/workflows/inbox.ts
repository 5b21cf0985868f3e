import { createWebhook } from "workflow";

/** Takes one delivery on a generated webhook URL and returns what it carried. */
export async function inbox(mailbox: string) {
  "use workflow";
  using webhook = createWebhook();
  const request = await webhook;
  return { mailbox, got: await readJson(await request.text()) };
}

async function readJson(text: string) {
  "use step";
  return JSON.parse(text) as unknown;
}
