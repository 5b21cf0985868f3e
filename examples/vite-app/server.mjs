// Production: `npm run build && npm start`. Serves the built page, the app's /api endpoints (bundled with
// the workflow plugin, which embeds the workflow code) and the workflow endpoints, on PORT (default 3000).
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createHandlers, createRouter, toNodeHandler } from "workflow/runtime";
import { api } from "./dist/server/api.js";

const client = path.join(path.dirname(fileURLToPath(import.meta.url)), "dist", "client");
const types = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml" };
const workflows = createRouter(createHandlers());

async function staticFile(request) {
  const { pathname } = new URL(request.url);
  const file = path.join(client, pathname === "/" ? "index.html" : pathname);
  if (!file.startsWith(client)) return new Response("not found", { status: 404 });
  try {
    const type = types[path.extname(file)] ?? "application/octet-stream";
    return new Response(await readFile(file), { headers: { "content-type": type } });
  } catch {
    return new Response("not found", { status: 404 });
  }
}

const server = createServer(
  toNodeHandler(async (request) => (await workflows(request)) ?? (await api(request)) ?? staticFile(request)),
);
server.listen(Number(process.env.PORT ?? 3000), () => {
  console.log(`vite-app on http://localhost:${server.address().port}`);
});
