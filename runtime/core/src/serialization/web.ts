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

export function headersToData(headers: Headers): HeadersData {
  return { pairs: [...(headers as unknown as Iterable<[string, string]>)] };
}

/** A body to put in the data: undefined when there is none, a promise of its bytes when reading asynchronously,
 *  or a string explaining why it cannot be read synchronously. */
export function bodyOf(
  message: Request | Response,
  async: boolean,
): { body?: Promise<Uint8Array>; problem?: string } {
  if (message.body === null) return {};
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
  return new Ctor(data.url, {
    method: data.method,
    headers: data.headers as Headers,
    body: hostBytes(data.body),
  });
}

export function dataToResponse(data: ResponseData, realm: typeof globalThis): Response {
  const Ctor = ctor<typeof Response>(realm, "Response");
  const body = NULL_BODY_STATUS.has(data.status) ? null : hostBytes(data.body);
  return new Ctor(body, {
    status: data.status,
    statusText: data.statusText,
    headers: data.headers as Headers,
  });
}
