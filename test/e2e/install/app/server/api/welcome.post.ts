// Starts a run, answers its webhook over HTTP at the URL the run made (served by the module's handler), and
// returns the result.
import { getRun, start } from "workflow/api";
import { welcome } from "../../src/greet";

export default defineEventHandler(async () => {
  const webhookUrl = new Promise<string>((resolve) => {
    (globalThis as { onWebhookUrl?: (url: string) => void }).onWebhookUrl = resolve;
  });
  const run = await start(welcome, ["ada"]);
  const answered = await fetch(await webhookUrl, { method: "POST", body: JSON.stringify({ from: "bob" }) });
  return { webhookStatus: answered.status, result: await getRun(run.runId).returnValue };
});
