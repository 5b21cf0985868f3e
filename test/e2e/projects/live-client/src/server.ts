/**
 * The app: a page that follows a run with `useRun` (bundled from page.tsx into public/app.js by the test), an API
 * that starts a run and hands the page its read token, and the workflow endpoints (streams included).
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { start } from "workflow/api";
import { createHandlers, createRouter, toNodeHandler } from "workflow/runtime";
import { onboarding } from "./onboarding.js";

const workflowEndpoints = toNodeHandler(createRouter(createHandlers()));
const page = `<!doctype html><html><head><meta charset="utf-8"><title>Live run</title></head>
<body><div id="root"></div><script type="module" src="/app.js"></script></body></html>`;

const server = createServer(async (req, res) => {
  if (req.url?.startsWith("/.well-known/workflow/")) return workflowEndpoints(req, res);
  if (req.url === "/app.js") {
    res.setHeader("content-type", "text/javascript");
    return res.end(readFileSync(new URL("../public/app.js", import.meta.url)));
  }
  if (req.method === "POST" && req.url === "/api/start") {
    const run = await start(onboarding, [Number(process.env.STEPS ?? 8), process.env.PAUSE ?? "700ms"]);
    res.setHeader("content-type", "application/json");
    return res.end(JSON.stringify({ runId: run.runId, readToken: run.readToken }));
  }
  res.setHeader("content-type", "text/html");
  res.end(page);
});
server.listen(Number(process.env.PORT ?? 3000), "127.0.0.1", () => {
  console.log(`LISTENING ${process.pid}`);
});
