import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { toNodeHandler } from "./node-adapter.js";

const servers: Array<ReturnType<typeof createServer>> = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

/** A server whose middleware chain is: `before` (e.g. a body parser), then the handler, then `next`. */
async function serve(
  before: (req: IncomingMessage) => Promise<void>,
  handler: (request: Request) => Promise<Response | undefined>,
): Promise<string> {
  const node = toNodeHandler(handler);
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    await before(req);
    await node(req, res, (error) => {
      res.statusCode = error ? 500 : 404;
      res.end(error ? `next(${(error as Error).name}: ${(error as Error).message})` : "next()");
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** What a body parser does: reads the stream to its end. */
async function drain(req: IncomingMessage): Promise<void> {
  for await (const _chunk of req);
}

const echo = async (request: Request) => new Response(`${request.method} [${await request.text()}]`);

describe("toNodeHandler", () => {
  it("streams the request body to the handler", async () => {
    const base = await serve(async () => {}, echo);
    const res = await fetch(`${base}/x`, { method: "POST", body: "hello" });
    expect(await res.text()).toBe("POST [hello]");
  });

  it("reports a body another middleware already read, with the fix, instead of waiting for it forever", async () => {
    const base = await serve(drain, echo);
    const res = await fetch(`${base}/.well-known/workflow/v1/webhook/t`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ a: 1 }),
      signal: AbortSignal.timeout(5_000),
    });
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).toMatch(
      /^next\(BodyAlreadyReadError: The body of POST \/\.well-known\/workflow\/v1\/webhook\/t was already read/,
    );
    expect(text).toContain("Mount the workflow handler before any body parser");
  });

  it("still falls through to the app when the body was read but the handler does not own the path", async () => {
    const base = await serve(drain, async (request) =>
      new URL(request.url).pathname.startsWith("/.well-known/") ? echo(request) : undefined,
    );
    const res = await fetch(`${base}/api/orders`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
      signal: AbortSignal.timeout(5_000),
    });
    expect(res.status).toBe(404);
    expect(await res.text()).toBe("next()");
  });

  it("answers 500 with the message when there is no next()", async () => {
    const node = toNodeHandler(echo);
    const server = createServer(async (req, res) => {
      await drain(req);
      await node(req, res);
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/x`, {
      method: "PUT",
      body: "data",
      signal: AbortSignal.timeout(5_000),
    });
    expect(res.status).toBe(500);
    expect(await res.text()).toMatch(/^internal error: The body of PUT \/x was already read/);
  });

  it("treats an empty body that was read already as no body", async () => {
    const base = await serve(drain, echo);
    const res = await fetch(`${base}/x`, { method: "POST", body: "", signal: AbortSignal.timeout(5_000) });
    expect(await res.text()).toBe("POST []");
  });
});
