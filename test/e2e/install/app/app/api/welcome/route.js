// Starts a run, answers its webhook over HTTP at the URL the run made (served by the generated routes),
// and returns the result.
import { getRun, start } from "workflow/api";
import { welcome } from "../../../src/greet";

export const dynamic = "force-dynamic";

export async function POST() {
  const webhookUrl = new Promise((resolve) => {
    globalThis.onWebhookUrl = resolve;
  });
  const run = await start(welcome, ["ada"]);
  const answered = await fetch(await webhookUrl, { method: "POST", body: JSON.stringify({ from: "bob" }) });
  return Response.json({ webhookStatus: answered.status, result: await getRun(run.runId).returnValue });
}
