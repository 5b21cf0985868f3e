// Starts a run, answers its webhook through the runtime's own HTTP router, and prints the result.
import { getRun, start } from "workflow/api";
import { createHandlers, createRouter } from "workflow/runtime";
import { welcome } from "./greet.ts";

// The runtime's timers do not keep a process alive (a server would); this script has no server.
setInterval(() => {}, 1_000);
const router = createRouter(createHandlers());
const webhookUrl = new Promise<string>((resolve) => {
  (globalThis as { onWebhookUrl?: (url: string) => void }).onWebhookUrl = resolve;
});
const run = await start(welcome, ["ada"]);
const { pathname } = new URL(await webhookUrl);
const request = new Request(`http://app${pathname}`, {
  method: "POST",
  body: JSON.stringify({ from: "bob" }),
});
console.log("WEBHOOK_STATUS", (await router(request))?.status);
console.log("RESULT", await getRun(run.runId).returnValue);
process.exit(0);
