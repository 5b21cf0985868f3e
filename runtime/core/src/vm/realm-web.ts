/**
 * Host side of the workflow realm's URL, URLSearchParams, Headers, Request, Response and TextDecoder
 * (realm-code.ts builds the realm classes). Each realm object keeps a host object of the same class and forwards
 * to it: parsing and validation are exactly the platform's. The host objects never reach workflow code; what
 * flows back is a primitive or another realm wrapper.
 *
 * Request and Response bodies: workflow code can only build a body from a string, bytes or URLSearchParams
 * (the realm has no Blob, FormData or streams), so the bytes are known at construction and kept (serialization
 * web.ts `setKnownBody`): such a message serializes synchronously, and its `text()`/`json()`/`arrayBuffer()`
 * read those bytes without I/O. Messages revived in a run with a body reader read through it (as steps).
 */
import { inspect, types } from "node:util";
import {
  bodyReaderOf,
  copyBodyKnowledge,
  hostOf,
  knownBodyOf,
  linkHostObject,
  setKnownBody,
} from "../serialization/web.js";
import type { WebCaps } from "./realm-code.js";

type Host = Record<string, any>;

const HOST_CLASSES: Record<string, new (...args: any[]) => object> = {
  URL,
  URLSearchParams,
  Headers,
  Request,
  Response,
  TextDecoder,
};

const SPECS: Record<
  string,
  { accessors?: string[]; getters?: string[]; methods?: string[]; statics?: string[] }
> = {
  URL: {
    accessors: [
      "href",
      "protocol",
      "username",
      "password",
      "host",
      "hostname",
      "port",
      "pathname",
      "search",
      "hash",
    ],
    getters: ["origin", "searchParams"],
    methods: ["toString", "toJSON"],
    statics: ["canParse", "parse"],
  },
  URLSearchParams: {
    getters: ["size"],
    methods: ["append", "delete", "get", "getAll", "has", "set", "sort", "toString"],
  },
  Headers: { methods: ["append", "delete", "get", "getSetCookie", "has", "set"] },
  Request: {
    getters: [
      "method",
      "url",
      "headers",
      "destination",
      "referrer",
      "referrerPolicy",
      "mode",
      "credentials",
      "cache",
      "redirect",
      "integrity",
      "keepalive",
      "isReloadNavigation",
      "isHistoryNavigation",
      "duplex",
    ],
  },
  Response: {
    getters: ["type", "url", "redirected", "status", "ok", "statusText", "headers"],
    statics: ["json", "error", "redirect"],
  },
  TextDecoder: { getters: ["encoding", "fatal", "ignoreBOM"], methods: ["decode"] },
};

const INIT_FIELDS = [
  "method",
  "headers",
  "body",
  "redirect",
  "referrer",
  "referrerPolicy",
  "mode",
  "credentials",
  "cache",
  "integrity",
  "keepalive",
  "signal",
  "duplex",
  "priority",
  "window",
  "status",
  "statusText",
];

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A body as the host classes take it, and its bytes. Realm buffers are copied: the message owns its bytes. */
function hostBody(body: unknown): { body: unknown; bytes?: Uint8Array } {
  if (body === undefined || body === null) return { body };
  const host = hostOf(body);
  if (host instanceof URLSearchParams) return { body: host, bytes: encoder.encode(host.toString()) };
  if (types.isAnyArrayBuffer(body)) {
    const bytes = new Uint8Array(body as ArrayBuffer).slice();
    return { body: bytes, bytes };
  }
  if (ArrayBuffer.isView(body)) {
    const view = body as ArrayBufferView;
    const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength).slice();
    return { body: bytes, bytes };
  }
  const text = String(body);
  return { body: text, bytes: encoder.encode(text) };
}

/** A Request/Response init of workflow code as a host object (reading its fields runs workflow code getters). */
function hostInit(init: unknown): { init: Host | undefined; bytes?: Uint8Array } {
  if (init === undefined || init === null) return { init: undefined };
  if (typeof init !== "object") throw new TypeError("The init argument must be an object");
  const out: Host = {};
  let bytes: Uint8Array | undefined;
  for (const field of INIT_FIELDS) {
    const value = (init as Host)[field];
    if (value === undefined) continue;
    if (field === "body") {
      const converted = hostBody(value);
      out.body = converted.body;
      bytes = converted.bytes;
    } else out[field] = hostOf(value);
  }
  return { init: out, bytes };
}

function construct(kind: string, args: unknown[]): object {
  const Host = HOST_CLASSES[kind]!;
  if (kind === "Request") {
    const { init, bytes } = hostInit(args[1]);
    const request = new Host(hostOf(args[0]), init);
    if (bytes) setKnownBody(request, bytes);
    else if (args[0] !== undefined) copyBodyKnowledge(hostOf(args[0]) as object, request);
    return request;
  }
  if (kind === "Response") {
    const { body, bytes } = hostBody(args[0]);
    const response = new Host(body, hostInit(args[1]).init);
    if (bytes) setKnownBody(response, bytes);
    return response;
  }
  return new Host(...args.map(hostOf));
}

/** `Response.json(data, init)`: built here so that its bytes are known (and `data` is stringified once). */
function responseJson(data: unknown, initArg: unknown): Response {
  const text = JSON.stringify(data);
  if (text === undefined) throw new TypeError("Response.json: the data is not JSON serializable");
  const { init } = hostInit(initArg);
  const headers = new Headers(init?.headers);
  if (!headers.has("content-type")) headers.set("content-type", "application/json");
  const response = new Response(text, { ...init, headers });
  setKnownBody(response, encoder.encode(text));
  return response;
}

/** The host half of the web classes; `realmBytes` copies bytes into a Uint8Array of the workflow realm. */
export function webCaps(realmBytes: (bytes: Uint8Array) => Uint8Array): WebCaps {
  return {
    kinds: Object.keys(SPECS).filter((kind) => typeof HOST_CLASSES[kind] === "function"),
    members(kind) {
      const spec = SPECS[kind]!;
      const proto = HOST_CLASSES[kind]!.prototype;
      const has = (name: string) => name in proto;
      return [
        ...(spec.accessors ?? []).filter(has).map((n) => `${n}:accessor`),
        ...(spec.getters ?? []).filter(has).map((n) => `${n}:getter`),
        ...(spec.methods ?? []).filter(has).map((n) => `${n}:method`),
      ];
    },
    statics(kind) {
      const Host = HOST_CLASSES[kind] as unknown as Host;
      return (SPECS[kind]!.statics ?? []).filter((name) => typeof Host[name] === "function");
    },
    construct(kind, wrapper, args) {
      const host = construct(kind, args);
      linkHostObject(wrapper, host);
      return host;
    },
    kindOf(value) {
      for (const kind of Object.keys(SPECS)) {
        if (value instanceof HOST_CLASSES[kind]!) return kind;
      }
      return undefined;
    },
    link: linkHostObject,
    get: (host, name) => (host as Host)[name],
    set(host, name, value) {
      (host as Host)[name] = value;
    },
    call(host, name, args) {
      if (name === "clone") {
        const copy = (host as Request).clone();
        copyBodyKnowledge(host, copy);
        return copy;
      }
      return (host as Host)[name](...args.map(hostOf));
    },
    callStatic(kind, name, args) {
      if (kind === "Response" && name === "json") return responseJson(args[0], args[1]);
      return (HOST_CLASSES[kind] as unknown as Host)[name](...args.map(hostOf));
    },
    list(host, which) {
      const out: unknown[] = [];
      for (const item of (host as Host)[which]() as Iterable<unknown>) {
        if (which === "entries") out.push((item as unknown[])[0], (item as unknown[])[1]);
        else out.push(item);
      }
      return out;
    },
    reader: (host) => bodyReaderOf(host),
    consume(host, method) {
      const message = host as Request | Response;
      let bytes: Uint8Array | undefined;
      if (message.body !== null) {
        bytes = knownBodyOf(message);
        if (!bytes) {
          throw new TypeError(
            'This body cannot be read in workflow code: pass the Request or Response to a "use step" function and read it there.',
          );
        }
      }
      if (method === "text") return bytes ? decoder.decode(bytes) : "";
      return realmBytes(bytes ?? new Uint8Array(0));
    },
    hasBody: (host) => (host as Request).body !== null,
    inspect: (host, depth, options) => inspect(host, { ...(options as object), depth: depth as number }),
  };
}
