/**
 * Headers, Request and Response as data. Bodies are bytes; reading a body is asynchronous, so a Request or
 * Response with a body can only be serialized by `serializeAsync` (which reads a clone, leaving the caller's
 * object unread). The synchronous `serialize` accepts them only without a body.
 */

export interface HeadersData {
  pairs: [string, string][];
}
export interface RequestData {
  method: string;
  url: string;
  headers: unknown; // a Headers, reduced by its own reducer
  body?: unknown; // Uint8Array, or (while serializing asynchronously) a promise of one
}
export interface ResponseData {
  status: number;
  statusText: string;
  headers: unknown;
  body?: unknown;
}

/**
 * Bodies of Request/Response objects this module revived: they are already bytes in memory, so serializing such
 * an object again (workflow code passing a fetched Response to a step) needs no asynchronous read.
 */
const revivedBodies = new WeakMap<object, Uint8Array>();

/**
 * Set on a realm (the engine does it for each workflow sandbox) to make `.json()`, `.text()` and `.arrayBuffer()`
 * of revived Requests and Responses calls of this function (which runs them as steps): reading a body is
 * asynchronous host work, which workflow code must not do by itself.
 */
export const BODY_READER_KEY: unique symbol = Symbol.for("wfkit.bodyReader");
export type BodyReader = (
  message: Request | Response,
  method: "json" | "text" | "arrayBuffer",
) => Promise<unknown>;

/** Remembers `message`'s body bytes and, in a realm with a body reader, routes its body methods through it. */
export function adoptBody(
  message: Request | Response,
  body: Uint8Array | null,
  realm: typeof globalThis,
): void {
  if (body) revivedBodies.set(message, body);
  const reader = (realm as unknown as Record<symbol, BodyReader | undefined>)[BODY_READER_KEY];
  if (typeof reader !== "function") return;
  for (const method of ["json", "text", "arrayBuffer"] as const) {
    Object.defineProperty(message, method, { value: () => reader(message, method), configurable: true });
  }
}

export function headersToData(headers: Headers): HeadersData {
  return { pairs: [...(headers as unknown as Iterable<[string, string]>)] };
}

/** A body to put in the data: undefined when there is none, a promise of its bytes when reading asynchronously,
 *  or a string explaining why it cannot be read synchronously. */
export function bodyOf(
  message: Request | Response,
  async: boolean,
): { body?: Promise<Uint8Array> | Uint8Array; problem?: string } {
  if (message.body === null) return {};
  const known = revivedBodies.get(message);
  if (known) return { body: known };
  if (message.bodyUsed) return { problem: "its body was already read" };
  if (!async) return { problem: "its body can only be read asynchronously" };
  return {
    body: message
      .clone()
      .arrayBuffer()
      .then((buffer) => new Uint8Array(buffer)),
  };
}

function ctor<T>(realm: typeof globalThis, name: "Headers" | "Request" | "Response"): T {
  const own = (realm as unknown as Record<string, unknown>)[name];
  return (typeof own === "function" ? own : (globalThis as unknown as Record<string, unknown>)[name]) as T;
}

// Statuses whose Response must not have a body (the constructor throws otherwise).
const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);

/** Web APIs want host-realm buffer views; copy bytes revived in another realm. */
function hostBytes(body: unknown): Uint8Array<ArrayBuffer> | null {
  if (body == null) return null;
  const view = body as Uint8Array;
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength).slice() as Uint8Array<ArrayBuffer>;
}

export function dataToHeaders(data: HeadersData, realm: typeof globalThis): Headers {
  const Ctor = ctor<typeof Headers>(realm, "Headers");
  const headers = new Ctor();
  for (const [name, value] of data.pairs) headers.append(String(name), String(value));
  return headers;
}

export function dataToRequest(data: RequestData, realm: typeof globalThis): Request {
  const Ctor = ctor<typeof Request>(realm, "Request");
  const body = hostBytes(data.body);
  const request = new Ctor(data.url, { method: data.method, headers: data.headers as Headers, body });
  adoptBody(request, body, realm);
  return request;
}

export function dataToResponse(data: ResponseData, realm: typeof globalThis): Response {
  const Ctor = ctor<typeof Response>(realm, "Response");
  const body = NULL_BODY_STATUS.has(data.status) ? null : hostBytes(data.body);
  const response = new Ctor(body, {
    status: data.status,
    statusText: data.statusText,
    headers: data.headers as Headers,
  });
  adoptBody(response, body, realm);
  return response;
}
