/**
 * The child side of `freshProcessInvoker`: one function invocation in its own process. Reads the request from
 * stdin, imports the function's entry, calls its `POST(request)` handler (the Web-standard export a Vercel
 * Node.js function may have), writes the response to fd 3 and exits, as a function instance that is frozen or
 * recycled once it answered: nothing of this process survives into the next invocation.
 */
import { writeSync } from "node:fs";
import { pathToFileURL } from "node:url";

interface WireRequest {
  url: string;
  headers: [string, string][];
  body: string;
}

const entry = process.argv[2];
if (!entry) throw new Error("usage: invoke-child <function entry>");
const chunks: Buffer[] = [];
for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
const wire = JSON.parse(Buffer.concat(chunks).toString("utf8")) as WireRequest;
const mod = (await import(pathToFileURL(entry).href)) as {
  POST?: (request: Request) => Promise<Response>;
};
if (typeof mod.POST !== "function") throw new Error(`${entry} does not export POST(request)`);
const response = await mod.POST(
  new Request(wire.url, {
    method: "POST",
    headers: wire.headers,
    body: Buffer.from(wire.body, "base64"),
  }),
);
const body = Buffer.from(await response.arrayBuffer()).toString("base64");
writeSync(3, JSON.stringify({ status: response.status, headers: [...response.headers], body }));
process.exit(0);
