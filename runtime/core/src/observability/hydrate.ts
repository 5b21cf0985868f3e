/**
 * Decoding stored values for people and tools (`wf inspect`, dashboards, `run.steps()`), under WDK's names
 * (`workflow/observability`: `hydrateData`, `hydrateResourceIO`, `observabilityRevivers`).
 *
 * Values reach a world as devalue strings made by `serialization/codec.ts`. Reviving them with the codec itself
 * would run user code (a class's `[Symbol.for("workflow-deserialize")]`) and needs the classes registered, which an
 * operator's process does not have. This decoder never runs user code: built-in types come back as themselves
 * (Date, Map, Set, RegExp, BigInt, URL, typed arrays: devalue builds them), errors as plain host `Error`s with
 * their recorded (source-mapped) stack, `cause` and properties, and everything that only the app could rebuild
 * (instances of the app's classes, streams, requests, responses, headers) as inert display objects named after
 * what they stand for (`DisplayValue`). A tag this version does not know (a newer runtime's, a custom reducer's)
 * is shown the same way instead of failing the whole value.
 */
import { inspect } from "node:util";
import { parse } from "devalue";
import { DEVALUE_TAGS } from "../serialization/codec.js";
import { dataToError, type ErrorData } from "../serialization/error-data.js";
import { parseClassName } from "./names.js";

/** Revives the data stored under one serialization tag. */
export type Revivers = Record<string, (value: any) => unknown>;

const DISPLAY_TYPE: unique symbol = Symbol.for("wfkit.displayType");

/**
 * A value only the app could rebuild, shown as data: `type` says what it stands for (`ReadableStream`, `Request`,
 * the short name of an app class…), the fields say what was stored. `toJSON` gives `{ $type, ...fields }`.
 */
export interface DisplayValue {
  readonly [DISPLAY_TYPE]: string;
  [field: string]: unknown;
}

const displayClasses = new Map<string, new () => object>();

/**
 * Builds a display object whose constructor is named `type`, so `util.inspect` prints `Money { cents: 5 }`
 * (the name is only a label: the class is empty and no user code is involved).
 */
export function displayValue(type: string, fields: Record<string, unknown>): DisplayValue {
  let Display = displayClasses.get(type);
  if (!Display) {
    const name = /^[A-Za-z_$][\w$]*$/.test(type) ? type : "Value";
    Display = { [name]: class {} }[name] as new () => object;
    Object.defineProperty(Display.prototype, "toJSON", {
      value(this: DisplayValue) {
        return { $type: this[DISPLAY_TYPE], ...this };
      },
    });
    if (name !== type) {
      Object.defineProperty(Display.prototype, inspect.custom, {
        value(this: DisplayValue, _depth: number, options: object) {
          return `${type} ${inspect({ ...this }, options)}`;
        },
      });
    }
    displayClasses.set(type, Display);
  }
  const value = Object.assign(new Display(), fields) as DisplayValue;
  Object.defineProperty(value, DISPLAY_TYPE, { value: type });
  return value;
}

/** The `type` of a display object, or undefined for any other value. */
export function displayTypeOf(value: unknown): string | undefined {
  return typeof value === "object" && value !== null
    ? (value as Partial<DisplayValue>)[DISPLAY_TYPE]
    : undefined;
}

function headersObject(data: unknown): Record<string, string> {
  const pairs = (data as { pairs?: unknown })?.pairs;
  const out: Record<string, string> = {};
  if (Array.isArray(pairs)) {
    for (const pair of pairs) if (Array.isArray(pair)) out[String(pair[0])] = String(pair[1]);
  }
  return out;
}

function bodyField(body: unknown): Record<string, unknown> {
  if (!(body instanceof Uint8Array)) return {};
  const text = new TextDecoder("utf-8", { fatal: false }).decode(body.subarray(0, 4096));
  return { body: body.length > 4096 ? `${text}… (${body.length} bytes)` : text };
}

/**
 * Revivers for every tag the runtime writes besides devalue's own (which devalue revives itself). Spread it into
 * your own map to show a type differently, as with WDK's.
 */
export const observabilityRevivers: Readonly<Revivers> = Object.freeze({
  Error: (data: ErrorData) => dataToError(data, globalThis),
  Class: ([id, data]: [string, unknown]) => {
    const name = parseClassName(String(id))?.shortName ?? String(id);
    const fields =
      typeof data === "object" && data !== null && !Array.isArray(data)
        ? (data as Record<string, unknown>)
        : { value: data };
    return displayValue(name, { ...fields, classId: String(id) });
  },
  Headers: (data: unknown) => displayValue("Headers", headersObject(data)),
  Request: (data: { method: string; url: string; headers: unknown; body?: unknown }) =>
    displayValue("Request", {
      method: data.method,
      url: data.url,
      headers: data.headers,
      ...bodyField(data.body),
    }),
  Response: (data: { status: number; statusText: string; headers: unknown; body?: unknown }) =>
    displayValue("Response", {
      status: data.status,
      statusText: data.statusText,
      headers: data.headers,
      ...bodyField(data.body),
    }),
  Unserializable: (what: unknown) => `[unserializable: ${String(what)}]`,
  "wfkit.stream": ([ref]: [{ runId: string; name: string; kind: string }]) =>
    displayValue(ref?.kind === "writable" ? "WritableStream" : "ReadableStream", {
      name: ref?.name,
      runId: ref?.runId,
    }),
  "wfkit.webhookRequest": ([data]: [
    { method: string; url: string; headers: [string, string][]; body?: unknown },
  ]) =>
    displayValue("Request", {
      method: data?.method,
      url: data?.url,
      headers: Object.fromEntries(Array.isArray(data?.headers) ? data.headers : []),
      ...bodyField(data?.body),
    }),
});

/**
 * Tags in a devalue payload: in its JSON array, a value of a special type is an array whose first element is a
 * string (plain arrays hold only indexes). devalue has no hook for unknown tags, so they are found up front.
 */
function tagsIn(payload: unknown): Set<string> {
  const tags = new Set<string>();
  if (!Array.isArray(payload)) return tags;
  for (const entry of payload) {
    if (Array.isArray(entry) && typeof entry[0] === "string" && !entry[0].startsWith("Temporal.")) {
      tags.add(entry[0]);
    }
  }
  return tags;
}

/**
 * Decodes one stored value (a step's input or output, a run's result, an error, a hook payload, a stream chunk)
 * for display, without running user code. A value that is not a string is returned as it is; a string that is not
 * a stored value comes back as a `DisplayValue` of type `Undecodable` holding the text and the reason.
 */
export function hydrateData(value: unknown, revivers: Readonly<Revivers> = observabilityRevivers): unknown {
  if (typeof value !== "string") return value;
  let payload: unknown;
  try {
    payload = JSON.parse(value);
  } catch (error) {
    return displayValue("Undecodable", { text: value, reason: (error as Error).message });
  }
  const all: Revivers = { ...revivers };
  for (const tag of tagsIn(payload)) {
    if (!DEVALUE_TAGS.has(tag) && !(tag in all)) {
      all[tag] = (data: unknown) => displayValue(tag, { data });
    }
  }
  try {
    return parse(value, all);
  } catch (error) {
    return displayValue("Undecodable", { text: value, reason: (error as Error).message });
  }
}

/** Which fields of each stored resource hold serialized values. */
const IO_FIELDS = ["input", "output", "error", "metadata", "options", "payload", "data"] as const;

/**
 * A copy of a stored run, step, hook, wait or event with its serialized fields decoded (`input`, `output`,
 * `error`, a hook's `metadata` and `options`, an event's `data` values), as WDK's `hydrateResourceIO`.
 */
export function hydrateResourceIO<T extends object>(
  resource: T,
  revivers: Readonly<Revivers> = observabilityRevivers,
): T {
  const out: Record<string, unknown> = { ...(resource as Record<string, unknown>) };
  for (const field of IO_FIELDS) {
    if (!(field in out)) continue;
    const raw = out[field];
    if (field === "data") out.data = hydrateEventData(raw, revivers);
    else if (field === "metadata" && typeof raw !== "string")
      continue; // a run's metadata is plain JSON
    else out[field] = hydrateData(raw, revivers);
  }
  return out as T;
}

/** Event payload fields that hold serialized values (see `EventDataMap` in `@wfkit/world`). */
const EVENT_VALUE_FIELDS = new Set(["input", "output", "error", "payload", "metadata", "options"]);

function hydrateEventData(data: unknown, revivers: Readonly<Revivers>): unknown {
  if (typeof data !== "object" || data === null) return data;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data)) {
    out[key] =
      EVENT_VALUE_FIELDS.has(key) && typeof value === "string" ? hydrateData(value, revivers) : value;
  }
  return out;
}
