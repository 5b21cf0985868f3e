/**
 * Mounts a Web-standard handler in Node's `http` server (or Connect/Express/Vite middleware). Hand-written
 * because it is a few lines over `Readable.toWeb`/`Readable.fromWeb`, and the runtime should not pull in a
 * server framework's adapter for them.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import type { ReadableStream as NodeWebStream } from "node:stream/web";

/** A handler that may decline a request (`undefined`), like `createRouter`'s. */
export type MaybeHandler = (request: Request) => Promise<Response | undefined>;

/**
 * `(req, res, next?)`: answers with the handler's Response; when the handler declines, calls `next()` or,
 * without one, answers 404.
 */
export function toNodeHandler(handler: MaybeHandler) {
  return async (
    req: IncomingMessage,
    res: ServerResponse,
    next?: (error?: unknown) => void,
  ): Promise<void> => {
    try {
      const response = await handler(toWebRequest(req));
      if (response) return await writeWebResponse(res, response);
      if (next) return next();
      res.statusCode = 404;
      res.end();
    } catch (error) {
      if (next) return next(error);
      res.statusCode = 500;
      res.setHeader("content-type", "text/plain");
      res.end(`internal error: ${(error as Error)?.message ?? String(error)}`);
    }
  };
}

/** The Web `Request` for a Node request; the body streams (it is not read up front). */
export function toWebRequest(req: IncomingMessage): Request {
  const host = req.headers.host ?? "localhost";
  const encrypted = (req.socket as { encrypted?: boolean }).encrypted === true;
  const url = new URL(req.url ?? "/", `${encrypted ? "https" : "http"}://${host}`);
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  const method = req.method ?? "GET";
  const hasBody = method !== "GET" && method !== "HEAD";
  return new Request(url, {
    method,
    headers,
    ...(hasBody ? { body: Readable.toWeb(req) as unknown as ReadableStream, duplex: "half" } : {}),
  } as RequestInit);
}

/** Writes status, headers and the (streamed) body; resolves when the body is fully sent. */
export async function writeWebResponse(res: ServerResponse, response: Response): Promise<void> {
  res.statusCode = response.status;
  if (response.statusText) res.statusMessage = response.statusText;
  response.headers.forEach((value, name) => {
    if (name !== "set-cookie") res.setHeader(name, value);
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) res.setHeader("set-cookie", cookies);
  if (!response.body) {
    res.end();
    return;
  }
  // Server-sent events must reach the client chunk by chunk, so the body is piped, never buffered.
  res.flushHeaders();
  const body = Readable.fromWeb(response.body as unknown as NodeWebStream);
  await new Promise<void>((resolve, reject) => {
    res.on("close", () => {
      body.destroy();
      resolve();
    });
    body.on("error", reject);
    body.pipe(res);
  });
}
