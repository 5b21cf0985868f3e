/**
 * devalue stringify operations: how the serializer inspects values, replacing devalue's defaults where they are
 * wrong for us.
 *
 * - `tagOf` classifies by internal slots (classify.ts) rather than `Object.prototype.toString`, which trusts a
 *   forged `Symbol.toStringTag` (a plain object claiming to be a "Date" would be read as one).
 * - `shapeOf` decides plainness from the prototype chain shape, which works for objects of any realm (devalue's
 *   default compares the prototype's property names as strings, for every object of another realm), and escapes
 *   `__proto__` keys (own-keys.ts).
 * - `get`, `valuesOf` and `entriesOf` record how deep each object lies and replace one that lies deeper than
 *   `MAX_DEPTH` by a rejected value, so devalue reports the path to it (depth.ts).
 */
import type { StringifyOperations } from "devalue";
import { classify } from "./classify.js";
import { DEPTH_HINT, depthProblem, type Levels, NEW, TOO_DEEP } from "./depth.js";
import { escapeKeys, unescapeKey } from "./own-keys.js";

export interface OperationsContext {
  levels: Levels;
  /** Marks `value` as rejected (with its reason); returns what to hand devalue in its place. */
  reject(problem: string, hint: string): unknown;
}

const NOT_PLAIN = Object.freeze({ kind: "not-plain" as const });
const SYMBOL_KEYS = Object.freeze({ kind: "symbol-keys" as const });

function hasEnumerableSymbol(value: object): boolean {
  const symbols = Object.getOwnPropertySymbols(value);
  for (const symbol of symbols) {
    if (Object.prototype.propertyIsEnumerable.call(value, symbol)) return true;
  }
  return false;
}

/** Operations reading the context of the call in progress through `ctxOf` (see codec.ts). */
export function stringifyOperations(ctxOf: () => OperationsContext): Partial<StringifyOperations> {
  const child = (ctx: OperationsContext, parent: object, value: unknown): unknown => {
    if (typeof value !== "object" || value === null) return value;
    return ctx.levels.enter(parent, value) === TOO_DEEP ? ctx.reject(depthProblem(), DEPTH_HINT) : value;
  };
  return {
    tagOf: (value: object) => classify(value).tag,
    shapeOf(value: object) {
      const { kind, tag } = classify(value);
      if (kind !== "native" || tag !== "Object") return NOT_PLAIN;
      if (hasEnumerableSymbol(value)) return SYMBOL_KEYS;
      return {
        kind: Object.getPrototypeOf(value) === null ? ("null-proto" as const) : ("plain" as const),
        keys: escapeKeys(Object.keys(value)),
      };
    },
    get(value: Record<string | number, unknown>, key: string | number) {
      return child(ctxOf(), value, value[unescapeKey(key)]);
    },
    *valuesOf(set: Set<unknown>) {
      const ctx = ctxOf();
      for (const item of set) yield child(ctx, set, item);
    },
    *entriesOf(map: Map<unknown, unknown>): Generator<[unknown, unknown]> {
      const ctx = ctxOf();
      for (const [key, value] of map) {
        // devalue revives a key before its value and stores both only then, so a key revived for the first time is
        // still open while its value is revived: its value counts one level deeper (OpenContainers in depth.ts).
        let keyOut: unknown = key;
        let parent: object = map;
        if (typeof key === "object" && key !== null) {
          const met = ctx.levels.enter(map, key);
          if (met === TOO_DEEP) keyOut = ctx.reject(depthProblem(), DEPTH_HINT);
          else if (met === NEW) parent = key;
        }
        yield [keyOut, child(ctx, parent, value)];
      }
    },
  };
}
