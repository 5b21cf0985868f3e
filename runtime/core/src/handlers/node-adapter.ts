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

/**
 * The request's body was consumed before the workflow handler saw it (a body parser such as `express.json()`
 * or Fastify's content-type parsers ran first). Without this check the handler would wait forever for a body
 * that has already gone by.
 */
export class BodyAlreadyReadError extends Error {
  readonly code = "BODY_ALREADY_READ";
  constructor(method: string, url: string) {
    super(
      `The body of ${method} ${url} was already read by another middleware before the workflow handler got it. ` +
        "Mount the workflow handler before any body parser (e.g. app.use(toNodeHandler(router)) before " +
        "app.use(express.json())), or keep body parsing away from /.well-known/workflow/ (in Fastify, a plugin " +
        "scope with removeAllContentTypeParsers() and a catch-all parser that reads nothing).",
    );
    this.name = "BodyAlreadyReadError";
  }
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
  let body: ReadableStream<Uint8Array> | undefined;
  if (method !== "GET" && method !== "HEAD") {
    // Someone else read the stream to its end: fine when there was nothing to read; otherwise reading the
    // body fails, and only then, so paths the workflow router does not own still fall through to the app.
    if (!req.readableEnded) body = bodyStream(req);
    else if (declaresBody(req)) body = failingStream(new BodyAlreadyReadError(method, req.url ?? "/"));
  }
  return new Request(url, {
    method,
    headers,
    ...(body ? { body, duplex: "half" } : {}),
  } as RequestInit);
}

/** A stream that fails with `error` when it is first read (not before: nobody may ever read it). */
function failingStream(error: Error): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        controller.error(error);
      },
    },
    { highWaterMark: 0 },
  );
}

function declaresBody(req: IncomingMessage): boolean {
  const length = req.headers["content-length"];
  if (length !== undefined) return Number(length) > 0;
  return req.headers["transfer-encoding"] !== undefined;
}

/**
 * The request body as a Web stream that reads from the socket only as fast as it is consumed. Not
 * `Readable.toWeb`: on Node 20 cancelling its stream while data still arrives throws "Controller is already
 * closed" as an uncaught exception, and a handler that refuses a large upload (413) cancels exactly then. After a
 * cancel the rest of the upload is read and dropped (the 413 answer closes the connection).
 */
function bodyStream(req: IncomingMessage): ReadableStream<Uint8Array> {
  let done = false;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        req.on("data", (chunk: Buffer) => {
          if (done) return;
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
          if ((controller.desiredSize ?? 0) <= 0) req.pause();
        });
        req.once("end", () => {
          if (done) return;
          done = true;
          controller.close();
        });
        req.once("error", (error) => {
          if (done) return;
          done = true;
          controller.error(error);
        });
        req.pause();
      },
      pull() {
        req.resume();
      },
      cancel() {
        done = true;
        req.resume();
      },
    },
    { highWaterMark: 64 * 1024, size: (chunk) => chunk.byteLength },
  );
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
