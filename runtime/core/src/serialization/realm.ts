/**
 * devalue parse operations that build revived values from ANOTHER realm's constructors, so workflow code in a
 * sandbox receives its own realm's Date, Map, Array … and `instanceof` works there. For the host realm we use
 * devalue's defaults (fastest path).
 */
import { types } from "node:util";
import type { parse } from "devalue";

export type ParseOperations = NonNullable<NonNullable<Parameters<typeof parse>[2]>["operations"]>;

type Realm = typeof globalThis & Record<string, any>;

const cache = new WeakMap<object, ParseOperations>();

export function realmOperations(realm: typeof globalThis): ParseOperations {
  let ops = cache.get(realm);
  if (!ops) {
    ops = build(realm as Realm);
    cache.set(realm, ops);
  }
  return ops;
}

function build(r: Realm): ParseOperations {
  const { Array: RArray, Object: RObject, Date: RDate, RegExp: RRegExp, Map: RMap, Set: RSet } = r;
  const RArrayBuffer = r.ArrayBuffer as ArrayBufferConstructor;
  const RUint8Array = r.Uint8Array as Uint8ArrayConstructor;
  return {
    fromISOString: (iso: string) => new RDate(iso),
    fromStringValue: (tag: string, text: string) => {
      const Ctor = (typeof r[tag] === "function" ? r[tag] : (globalThis as Realm)[tag]) as new (
        t: string,
      ) => unknown;
      return new Ctor(text);
    },
    fromArrayBuffer: (buffer: ArrayBuffer) => {
      const copy = new RArrayBuffer(buffer.byteLength);
      new RUint8Array(copy).set(new Uint8Array(buffer));
      return copy;
    },
    fromRegExpInfo: (source: string, flags?: string) => new RRegExp(source, flags),
    fromViewInfo: (tag: string, buffer: unknown, byteOffset?: number, length?: number) => {
      // Only a real ArrayBuffer: anything else (a number, an array-like) would make the constructor allocate.
      if (!types.isAnyArrayBuffer(buffer)) throw new Error("Invalid input");
      const Ctor = r[tag] as new (b: unknown, o?: number, l?: number) => unknown;
      return byteOffset !== undefined ? new Ctor(buffer, byteOffset, length) : new Ctor(buffer);
    },
    box: (value: unknown) => RObject(value),
    createArray: (length: number) => new RArray(length),
    createSparseArray: (length: number) => {
      const array = new RArray();
      // Same guard as devalue's: force dictionary elements before setting an untrusted length.
      array[4294967294] = undefined;
      delete array[4294967294];
      array.length = length;
      return array;
    },
    createObject: () => new RObject(),
    createSet: () => new RSet(),
    createMap: () => new RMap(),
  } as unknown as ParseOperations;
}
