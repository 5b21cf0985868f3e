/**
 * Postgres `text` cannot hold U+0000, and `jsonb` and every json function refuse the `\u0000` escape, while a
 * JavaScript string, and so every World payload, may contain it. This module makes every string the world stores
 * representable, without changing ordinary ones:
 *
 * - A string that contains NUL, or that begins with MARK (U+FDD0, a Unicode noncharacter, reserved for a
 *   program's internal use), is stored as MARK followed by its JSON string literal, in which NUL is the six
 *   characters `\u0000`. Every other string, that is every string the engine writes (its serializer already
 *   escapes control characters), is stored as it is.
 * - Writes: `TextSafeClient` encodes every string parameter of every query on the world's pool (so a lookup of a
 *   key with NUL looks for its encoded form and finds nothing, as for any unknown key), and `toJson` encodes every
 *   string and key of the JSON documents the world sends.
 * - Reads: the pool's type parsers decode every `text` column and every string and key of every `json`/`jsonb`
 *   value. Each string of a result passes through exactly one of them, so nothing is decoded twice.
 *
 * Hand-written because it is a property of Postgres's types that no driver option covers; the encoded form is
 * JSON so that the escaping itself is the standard one.
 */
import pg from "pg";

const MARK = "\uFDD0";
const MARK_CODE = 0xfdd0;

function needsEncoding(s: string): boolean {
  return s.charCodeAt(0) === MARK_CODE || s.includes("\u0000");
}

/** The stored form of a string: itself, unless it holds NUL or begins with MARK. */
export function encodeText(s: string): string {
  return needsEncoding(s) ? MARK + JSON.stringify(s) : s;
}

/** The string a stored form stands for. */
export function decodeText(s: string): string {
  if (s.charCodeAt(0) !== MARK_CODE) return s;
  try {
    const value: unknown = JSON.parse(s.slice(1));
    if (typeof value === "string") return value;
  } catch {
    // not our encoding (a value stored before this codec existed): it stands for itself
  }
  return s;
}

/** `JSON.stringify` whose strings and keys are in their stored form (unchanged text for ordinary values). */
export function toJson(value: unknown): string {
  const text = JSON.stringify(value);
  // Both checks can only be true when some string needs encoding (or the text holds an escaped backslash
  // before "u0000", which then costs a second, equal stringify): the common case pays two scans.
  return text.includes("\\u0000") || text.includes(MARK) ? JSON.stringify(value, encodeReplacer) : text;
}

function encodeReplacer(_key: string, value: unknown): unknown {
  if (typeof value === "string") return encodeText(value);
  if (isPlainObject(value) && Object.keys(value).some(needsEncoding)) {
    // Values are encoded when JSON.stringify visits the returned object's properties.
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [encodeText(k), v]));
  }
  return value;
}

/** `JSON.parse` of a stored document, with its strings and keys decoded. */
export function parseJson(text: string): unknown {
  return text.includes(MARK) ? JSON.parse(text, decodeReviver) : JSON.parse(text);
}

function decodeReviver(_key: string, value: unknown): unknown {
  if (typeof value === "string") return decodeText(value);
  if (isPlainObject(value) && Object.keys(value).some((k) => k.charCodeAt(0) === MARK_CODE)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [decodeText(k), v]));
  }
  return value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function encodeParam(value: unknown): unknown {
  if (typeof value === "string") return encodeText(value);
  if (Array.isArray(value)) return value.some((v) => typeof v === "string") ? value.map(encodeParam) : value;
  return value;
}

const TEXT_OID = 25;
const JSON_OID = 114;
const JSONB_OID = 3802;
const INT8_OID = 20;

/**
 * The type parsers of the world's connections: bigint as a number (epoch milliseconds and sequence numbers fit a
 * double exactly), text and json decoded as above, everything else the driver's default.
 */
export const worldTypes = {
  getTypeParser: ((oid: number, format?: string) => {
    switch (oid) {
      case INT8_OID:
        return (value: string) => Number(value);
      case TEXT_OID:
        return decodeText;
      case JSON_OID:
      case JSONB_OID:
        return parseJson;
      default:
        return pg.types.getTypeParser(oid, format as "text");
    }
  }) as typeof pg.types.getTypeParser,
};

/**
 * The pool's client class: every query's string parameters (and arrays of strings) are sent in their stored
 * form. Subclassing is the one place node-postgres lets all of a pool's queries pass through (`Client` option of
 * `pg.Pool`), so no query of the world can forget it.
 */
export class TextSafeClient extends pg.Client {
  override query(config: any, values?: any, callback?: any): any {
    if (Array.isArray(values)) {
      values = values.map(encodeParam);
    } else if (typeof config === "object" && config !== null && Array.isArray(config.values)) {
      config = { ...config, values: config.values.map(encodeParam) };
    }
    return super.query(config, values, callback);
  }
}
