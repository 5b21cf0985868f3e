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
 * Web objects of another realm that stand for a host object: the workflow realm's URL, URLSearchParams, Headers,
 * Request and Response keep a host object of the same class privately and forward to it (vm/realm-web.ts), and
 * register the pair here so that this module reads the host object (its body, its headers) directly.
 */
const hostObjects = new WeakMap<object, object>();

export function linkHostObject(wrapper: object, host: object): void {
  hostObjects.set(wrapper, host);
}

/** The host object a realm wrapper stands for, or `value` itself. */
export function hostOf<T>(value: T): T {
  return (typeof value === "object" && value !== null ? (hostObjects.get(value) as T) : undefined) ?? value;
}

/**
 * Body bytes known without reading a stream, by host Request/Response: those this module revived, and those built
 * by workflow code from a string or bytes. Serializing such an object (workflow code passing a fetched Response to
 * a step) then needs no asynchronous read.
 */
const knownBodies = new WeakMap<object, Uint8Array>();

export function setKnownBody(message: object, body: Uint8Array): void {
  knownBodies.set(message, body);
}

export function knownBodyOf(message: object): Uint8Array | undefined {
  return knownBodies.get(hostOf(message));
}

/** Body readers of messages revived in a realm with one (the reader of the run they were revived for). */
const readers = new WeakMap<object, BodyReader>();

export function bodyReaderOf(message: object): BodyReader | undefined {
  return readers.get(hostOf(message));
}

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

/**
 * Remembers `message`'s body bytes and, in a realm with a body reader, routes its body methods through it: the
 * workflow realm's Request and Response consult `bodyReaderOf`; a message of another realm (one with host
 * classes) gets own methods calling the reader.
 */
export function adoptBody(
  message: Request | Response,
  body: Uint8Array | null,
  realm: typeof globalThis,
): void {
  const host = hostOf(message);
  if (body) knownBodies.set(host, body);
  const reader = (realm as unknown as Record<symbol, BodyReader | undefined>)[BODY_READER_KEY];
  if (typeof reader !== "function") return;
  if (host !== message) {
    readers.set(host, reader);
    return;
  }
  for (const method of ["json", "text", "arrayBuffer"] as const) {
    Object.defineProperty(message, method, { value: () => reader(message, method), configurable: true });
  }
}

/** Copies what this module knows about `from`'s body to its clone `to` (both host objects). */
export function copyBodyKnowledge(from: object, to: object): void {
  const body = knownBodies.get(from);
  if (body) knownBodies.set(to, body);
  const reader = readers.get(from);
  if (reader) readers.set(to, reader);
}

export function headersToData(headers: Headers): HeadersData {
  return { pairs: [...(hostOf(headers) as unknown as Iterable<[string, string]>)] };
}

/** A body to put in the data: undefined when there is none, a promise of its bytes when reading asynchronously,
 *  or a string explaining why it cannot be read synchronously. */
export function bodyOf(
  message: Request | Response,
  async: boolean,
): { body?: Promise<Uint8Array> | Uint8Array; problem?: string } {
  message = hostOf(message);
  if (message.body === null) return {};
  const known = knownBodies.get(message);
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
