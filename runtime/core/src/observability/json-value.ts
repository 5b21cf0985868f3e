/**
 * Decoded values as stable JSON (`wf inspect --json`, `wf export`): every type the decoder can produce gets one
 * documented shape, so scripts never see `{}` for an Error or a Map.
 *
 * - Date → ISO string; BigInt → `{ "$type": "BigInt", "value": "12" }`; undefined → omitted in objects, null in arrays
 * - NaN, ±Infinity, -0 → `{ "$type": "Number", "value": "NaN" }` (JSON has no such numbers)
 * - Map → `{ "$type": "Map", "entries": [[k, v], …] }`; Set → `{ "$type": "Set", "values": […] }`
 * - RegExp, URL, URLSearchParams → `{ "$type": …, "value": "<its string>" }`
 * - typed arrays, ArrayBuffer, DataView → `{ "$type": "Uint8Array", "base64": "…" }`
 * - Error → `{ "$type": "Error", "name", "message", "stack", "cause"?, "errors"?, …own properties }`
 * - display values (streams, app classes, requests…) → `{ "$type": …, …fields }`
 * - a value met again inside itself → `"[Circular]"`
 */
import { displayTypeOf } from "./hydrate.js";

export function toJsonValue(value: unknown): unknown {
  return convert(value, new Set());
}

function bytes(view: ArrayBufferView | ArrayBuffer): string {
  const u8 =
    view instanceof ArrayBuffer
      ? new Uint8Array(view)
      : new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  return Buffer.from(u8).toString("base64");
}

function convert(value: unknown, ancestors: Set<object>): unknown {
  switch (typeof value) {
    case "number":
      return Number.isFinite(value) && !Object.is(value, -0)
        ? value
        : { $type: "Number", value: String(value) };
    case "bigint":
      return { $type: "BigInt", value: value.toString() };
    case "string":
    case "boolean":
      return value;
    case "undefined":
    case "function":
    case "symbol":
      return undefined;
  }
  if (value === null) return null;
  const object = value as object;
  if (ancestors.has(object)) return "[Circular]";
  ancestors.add(object);
  try {
    const display = displayTypeOf(object);
    if (display !== undefined) return { $type: display, ...fields(object, ancestors) };
    if (object instanceof Date) return Number.isNaN(object.getTime()) ? null : object.toISOString();
    if (Array.isArray(object)) return object.map((item) => convert(item, ancestors) ?? null);
    if (object instanceof Map) {
      return {
        $type: "Map",
        entries: [...object].map(([k, v]) => [convert(k, ancestors) ?? null, convert(v, ancestors) ?? null]),
      };
    }
    if (object instanceof Set)
      return { $type: "Set", values: [...object].map((v) => convert(v, ancestors) ?? null) };
    if (object instanceof RegExp || object instanceof URL || object instanceof URLSearchParams) {
      return { $type: object.constructor.name, value: String(object) };
    }
    if (object instanceof ArrayBuffer || ArrayBuffer.isView(object)) {
      return { $type: object.constructor.name, base64: bytes(object as ArrayBuffer) };
    }
    if (object instanceof Error) {
      const e = object as Error & { cause?: unknown; errors?: unknown };
      const out: Record<string, unknown> = { $type: "Error", name: e.name, message: e.message };
      if (e.stack) out.stack = e.stack;
      if ("cause" in e) out.cause = convert(e.cause, ancestors);
      if ("errors" in e) out.errors = convert(e.errors, ancestors);
      return { ...out, ...fields(object, ancestors) };
    }
    return fields(object, ancestors);
  } finally {
    ancestors.delete(object);
  }
}

function fields(object: object, ancestors: Set<object>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(object)) {
    const converted = convert((object as Record<string, unknown>)[key], ancestors);
    if (converted !== undefined) out[key] = converted;
  }
  return out;
}
