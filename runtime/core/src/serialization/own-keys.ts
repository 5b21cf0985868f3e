/**
 * Own keys that ordinary assignment would not create: `__proto__` (assigning it sets the prototype) and any key
 * that an object inherits (`constructor`, `toString`, `hasOwnProperty`, …: in a realm whose prototypes are frozen,
 * assigning one throws in strict code, the "override mistake"). Values revive with exactly the own keys they
 * were serialized with, so such keys are defined, never assigned.
 *
 * devalue refuses `__proto__` keys in both directions, so on the wire they are escaped: a key made of tildes
 * followed by `__proto__` gets one more tilde (`__proto__` → `~__proto__`, `~__proto__` → `~~__proto__`), which
 * keeps every other key, including ones that look escaped, unambiguous.
 */
const PROTO_FAMILY = /^~*__proto__$/;
const TILDE = 126;
const UNDERSCORE = 95;

/** Whether `key` is `__proto__` preceded by zero or more tildes (cheap first-character test first). */
function inFamily(key: string): boolean {
  const c = key.charCodeAt(0);
  return (c === TILDE || c === UNDERSCORE) && key.length >= 9 && PROTO_FAMILY.test(key);
}

/** The wire form of the own keys of a plain object; the same array when nothing needs escaping. */
export function escapeKeys(keys: string[]): string[] {
  let out: string[] | undefined;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (inFamily(key)) {
      out ??= keys.slice();
      out[i] = `~${key}`;
    }
  }
  return out ?? keys;
}

/** The real key of a wire key (numbers, array indices, pass through). */
export function unescapeKey<K extends string | number>(key: K): K {
  return typeof key === "string" && key.charCodeAt(0) === TILDE && inFamily(key) ? (key.slice(1) as K) : key;
}

/**
 * The keys a fresh object inherits (Object.prototype's, the same in every realm), kept as a set: looking one up
 * is cheaper than `key in target`, which walks the prototype chain for every key of every revived object.
 */
const INHERITED = new Set(Object.getOwnPropertyNames(Object.prototype));

/**
 * Sets an own, enumerable, writable property of a fresh plain object or array: assignment when that is
 * equivalent (the fast path), else a definition (a key the object inherits, such as `__proto__` or `toString`).
 */
export function setOwn(target: object, key: string | number, value: unknown): void {
  if (typeof key === "string" && INHERITED.has(key)) {
    Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  } else {
    (target as Record<string | number, unknown>)[key] = value;
  }
}
