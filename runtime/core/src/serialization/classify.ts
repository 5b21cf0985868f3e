/**
 * Realm-independent type detection. Values reach the serializer from the host realm and from sandbox realms,
 * where `instanceof` fails, so built-ins are recognised by their internal slots (`util.types.*`, the
 * %TypedArray% tag getter) and web classes by `Symbol.toStringTag`. devalue classifies by
 * `Object.prototype.toString` alone, which works across realms but trusts a forged `Symbol.toStringTag`
 * (a class claiming to be a "Map" would be iterated as one); our tags come from internal slots instead.
 */
import { types } from "node:util";
import { hasSerializer } from "./classes.js";
import { hostOf } from "./web.js";

export type Kind =
  | "primitive"
  | "function"
  | "symbol"
  | "native" // handled by devalue itself; `tag` says as what
  | "error"
  | "headers"
  | "request"
  | "response"
  | "class" // declares workflow-serialize
  | "promise"
  | "other"; // a class instance nothing knows how to serialize

export interface Classification {
  kind: Kind;
  /** The devalue tag for natives ("Array", "Object", "Date", "Uint8Array", …); "Object" otherwise. */
  tag: string;
}

const typedArrayTag = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Uint8Array.prototype),
  Symbol.toStringTag,
)!.get as (this: unknown) => string | undefined;
const toStringTagOf = (value: object): unknown => {
  try {
    return (value as Record<symbol, unknown>)[Symbol.toStringTag];
  } catch {
    return undefined;
  }
};

const PRIMITIVE: Classification = { kind: "primitive", tag: "Object" };
const FUNCTION: Classification = { kind: "function", tag: "Object" };
const SYMBOL: Classification = { kind: "symbol", tag: "Object" };
const ARRAY: Classification = { kind: "native", tag: "Array" };
const PLAIN: Classification = { kind: "native", tag: "Object" };
const natives = new Map<string, Classification>();
const native = (tag: string): Classification => {
  let c = natives.get(tag);
  if (!c) {
    c = { kind: "native", tag };
    natives.set(tag, c);
  }
  return c;
};
const of = (kind: Kind): Classification => ({ kind, tag: "Object" });
const ERROR = of("error");
const HEADERS = of("headers");
const REQUEST = of("request");
const RESPONSE = of("response");
const CLASS = of("class");
const PROMISE = of("promise");
const OTHER = of("other");

// devalue asks every reducer and then `tagOf` about the same value in a row; remembering the last answer makes
// that one classification per value instead of one per reducer.
let lastValue: unknown;
let lastResult: Classification = PRIMITIVE;

export function resetClassifyCache(): void {
  lastValue = undefined;
  lastResult = PRIMITIVE;
}

export function classify(value: unknown): Classification {
  const type = typeof value;
  if (type !== "object" || value === null) {
    if (type === "function") return FUNCTION;
    return type === "symbol" ? SYMBOL : PRIMITIVE;
  }
  if (value === lastValue) return lastResult;
  lastValue = value;
  lastResult = classifyObject(value as object);
  return lastResult;
}

function classifyObject(value: object): Classification {
  if (Array.isArray(value)) return ARRAY;
  // A workflow realm's web object is what it stands for (the reducers read that host object).
  const host = hostOf(value);
  if (host !== value) return classifyObject(host);
  const proto = Object.getPrototypeOf(value);
  // Plain objects of any realm: Object.prototype's own prototype is null.
  if (proto === null || Object.getPrototypeOf(proto) === null) return PLAIN;
  if (hasSerializer(proto.constructor) && Object.hasOwn(proto, "constructor")) return CLASS;
  if (types.isNativeError(value) || value instanceof Error) return ERROR;
  if (types.isDate(value)) return native("Date");
  if (types.isMap(value)) return native("Map");
  if (types.isSet(value)) return native("Set");
  if (types.isRegExp(value)) return native("RegExp");
  if (types.isArrayBufferView(value)) {
    const tag = typedArrayTag.call(value);
    return tag ? native(tag) : native("DataView");
  }
  if (types.isAnyArrayBuffer(value)) return native("ArrayBuffer");
  if (types.isPromise(value)) return PROMISE;
  if (types.isBoxedPrimitive(value)) {
    if (types.isNumberObject(value)) return native("Number");
    if (types.isStringObject(value)) return native("String");
    if (types.isBooleanObject(value)) return native("Boolean");
    if (types.isBigIntObject(value)) return native("BigInt");
    return OTHER; // boxed Symbol
  }
  if (value instanceof URL) return native("URL");
  if (value instanceof URLSearchParams) return native("URLSearchParams");
  if (typeof Headers === "function" && value instanceof Headers) return HEADERS;
  if (typeof Request === "function" && value instanceof Request) return REQUEST;
  if (typeof Response === "function" && value instanceof Response) return RESPONSE;
  // Web classes from another realm (a realm with its own URL or fetch classes): trust the tag only together with
  // the members we are going to read.
  switch (toStringTagOf(value)) {
    case "URL":
      return typeof (value as URL).href === "string" ? native("URL") : OTHER;
    case "URLSearchParams":
      return typeof (value as URLSearchParams).getAll === "function" ? native("URLSearchParams") : OTHER;
    case "Headers":
      return typeof (value as Headers).entries === "function" ? HEADERS : OTHER;
    case "Request":
      return typeof (value as Request).url === "string" ? REQUEST : OTHER;
    case "Response":
      return typeof (value as Response).status === "number" ? RESPONSE : OTHER;
  }
  if (typeof (value as { then?: unknown }).then === "function") return PROMISE;
  return OTHER;
}

/** "a Socket", "an Agent", "a function `onDone`", … for error messages. */
export function describe(value: unknown): string {
  const type = typeof value;
  if (type === "function") {
    const name = (value as { name?: unknown }).name;
    return typeof name === "string" && name ? `a function \`${name}\`` : "a function";
  }
  if (type === "symbol") return "a symbol";
  if (type !== "object" || value === null) return `a ${type}`;
  let name: string | undefined;
  try {
    const ctor = Object.getPrototypeOf(value)?.constructor;
    name = typeof ctor === "function" && ctor.name ? ctor.name : undefined;
  } catch {
    name = undefined;
  }
  name ??= String(toStringTagOf(value as object) ?? "object");
  return `${/^[AEIOU]/.test(name) ? "an" : "a"} ${name}`;
}
