/**
 * devalue parse operations, one set per target realm: values are built from THAT realm's constructors, so
 * workflow code in a sandbox receives its own realm's Date, Map, Array … and `instanceof` works there. The same
 * operations (with the host's constructors) serve the host realm, because every realm needs two things devalue's
 * defaults do not do: keys are defined rather than assigned (own-keys.ts), and nesting is bounded (depth.ts).
 */
import { types } from "node:util";
import type { parse } from "devalue";
import { OpenContainers } from "./depth.js";
import { setOwn, unescapeKey } from "./own-keys.js";

export type ParseOperations = NonNullable<NonNullable<Parameters<typeof parse>[2]>["operations"]>;

type Realm = typeof globalThis & Record<string, any>;

const cache = new WeakMap<object, ParseOperations>();

/**
 * The containers of the parse in progress. Operations are shared per realm (building them per call costs more
 * than a small parse); a nested parse (a class deserializer that deserializes) saves and restores this.
 */
let open = new OpenContainers();

/** Runs `fn` (a parse) with its own open-container stack. */
export function withOpenContainers<T>(fn: () => T): T {
  const outer = open;
  open = new OpenContainers();
  try {
    return fn();
  } finally {
    open = outer;
  }
}

/** Called with every revived value handed to a reviver: it is complete. */
export function closeContainer(value: unknown): void {
  open.close(value);
}

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
      if (r === globalThis) return buffer;
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
    createArray: (length: number) => open.open(new RArray(length)),
    createSparseArray: (length: number) => {
      const array = open.open(new RArray());
      // Same guard as devalue's: force dictionary elements before setting an untrusted length.
      array[4294967294] = undefined;
      delete array[4294967294];
      array.length = length;
      return array;
    },
    createObject: () => open.open(new RObject()),
    createNullPrototypeObject: () => open.open(RObject.create(null)),
    createSet: () => open.open(new RSet()),
    createMap: () => open.open(new RMap()),
    set: (target: object, key: string | number, value: unknown) => {
      open.close(value);
      setOwn(target, unescapeKey(key), value);
    },
    addValue: (set: Set<unknown>, value: unknown) => {
      open.close(value);
      set.add(value);
    },
    addEntry: (map: Map<unknown, unknown>, key: unknown, value: unknown) => {
      open.close(value);
      open.close(key);
      map.set(key, value);
    },
  } as unknown as ParseOperations;
}
