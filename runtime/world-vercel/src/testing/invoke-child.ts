/**
 * The child side of `freshProcessInvoker`: one function invocation in its own process. Reads the request from
 * stdin, imports the function's entry, calls its handler for the request's method (`POST(request)`, `GET(request)`:
 * the Web-standard exports a Vercel Node.js function may have), writes the response to fd 3 and exits, as a function instance that is frozen or
 * recycled once it answered: nothing of this process survives into the next invocation.
 */
import { writeSync } from "node:fs";
import { pathToFileURL } from "node:url";

interface WireRequest {
  method: string;
  url: string;
  headers: [string, string][];
  body: string;
}

const entry = process.argv[2];
if (!entry) throw new Error("usage: invoke-child <function entry>");
const chunks: Buffer[] = [];
for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
const wire = JSON.parse(Buffer.concat(chunks).toString("utf8")) as WireRequest;
const mod = (await import(pathToFileURL(entry).href)) as Record<
  string,
  ((request: Request) => Promise<Response>) | undefined
>;
const handler = mod[wire.method];
if (typeof handler !== "function") throw new Error(`${entry} does not export ${wire.method}(request)`);
const hasBody = wire.method !== "GET" && wire.method !== "HEAD";
const response = await handler(
  new Request(wire.url, {
    method: wire.method,
    headers: wire.headers,
    ...(hasBody ? { body: Buffer.from(wire.body, "base64") } : {}),
  }),
);
const body = Buffer.from(await response.arrayBuffer()).toString("base64");
writeSync(3, JSON.stringify({ status: response.status, headers: [...response.headers], body }));
process.exit(0);
