/**
 * Classes that declare their own serializers.
 *
 * A class opts in with two static methods keyed by global symbols (the same keys Vercel's Workflow DevKit uses):
 *
 *   class Money {
 *     constructor(readonly cents: number, readonly currency: string) {}
 *     static [Symbol.for("workflow-serialize")](m: Money) { return { cents: m.cents, currency: m.currency }; }
 *     static [Symbol.for("workflow-deserialize")](d: { cents: number; currency: string }) {
 *       return new Money(d.cents, d.currency);
 *     }
 *   }
 *   registerSerializableClass("Money", Money);   // or: static classId = "Money";
 *
 * The ID (not the JS class name, which minifiers rename) goes on the wire next to the serializer's data, which
 * may itself hold any serializable value (Dates, Maps, other such classes …). To revive, the ID is looked up in
 * the TARGET realm's registry only (`globalThis[Symbol.for("wfkit.serializableClasses")]`, so a class registered
 * by the workflow bundle inside the sandbox is found there): an instance of a host class handed to workflow code
 * would give it the host's constructors and prototypes. A class known only through
 * `static classId` is registered on first serialization in this process; a process that only deserializes
 * must register it (or load the module that does).
 *
 * This module imports nothing from Node so the sandbox-side `workflow` package can reuse it.
 */
export const WORKFLOW_SERIALIZE: unique symbol = Symbol.for("workflow-serialize");
export const WORKFLOW_DESERIALIZE: unique symbol = Symbol.for("workflow-deserialize");
export const CLASS_REGISTRY_KEY: unique symbol = Symbol.for("wfkit.serializableClasses");
const CLASS_ID: unique symbol = Symbol.for("wfkit.classId");

export interface SerializableClass<T = any, D = any> {
  new (...args: any[]): T;
  [WORKFLOW_SERIALIZE](instance: T): D;
  [WORKFLOW_DESERIALIZE](data: D): T;
}

type Registry = Map<string, SerializableClass>;

function registryOf(realm: object, create: boolean): Registry | undefined {
  const holder = realm as Record<symbol, Registry | undefined>;
  let registry = holder[CLASS_REGISTRY_KEY];
  if (!registry && create) {
    registry = new Map();
    Object.defineProperty(holder, CLASS_REGISTRY_KEY, { value: registry, configurable: true });
  }
  return registry;
}

/** Makes `cls` serializable under the stable ID `id` (in `realm`, default this realm). */
export function registerSerializableClass(
  id: string,
  cls: SerializableClass,
  realm: object = globalThis,
): void {
  if (typeof id !== "string" || id === "") {
    throw new TypeError(
      "registerSerializableClass: the ID must be a non-empty string that stays stable across deploys",
    );
  }
  if (
    typeof cls !== "function" ||
    typeof cls[WORKFLOW_SERIALIZE] !== "function" ||
    typeof cls[WORKFLOW_DESERIALIZE] !== "function"
  ) {
    throw new TypeError(
      `registerSerializableClass("${id}"): the class must have static [Symbol.for("workflow-serialize")](instance) ` +
        `and [Symbol.for("workflow-deserialize")](data) methods`,
    );
  }
  const registry = registryOf(realm, true)!;
  const existing = registry.get(id);
  if (existing && existing !== cls && existing.name !== cls.name) {
    throw new TypeError(
      `registerSerializableClass: the ID "${id}" is already used by class ${existing.name}`,
    );
  }
  registry.set(id, cls);
  Object.defineProperty(cls, CLASS_ID, { value: id, configurable: true });
}

/** The wire ID of a class that declares serializers: its registered ID, else its own `static classId`. */
export function classIdOf(cls: object): string | undefined {
  if (Object.hasOwn(cls, CLASS_ID)) return (cls as unknown as Record<symbol, string>)[CLASS_ID];
  if (Object.hasOwn(cls, "classId")) {
    const id = (cls as unknown as { classId: unknown }).classId;
    if (typeof id === "string" && id !== "") {
      registerSerializableClass(id, cls as SerializableClass);
      return id;
    }
  }
  return undefined;
}

export function hasSerializer(cls: unknown): cls is SerializableClass {
  return (
    typeof cls === "function" && typeof (cls as Partial<SerializableClass>)[WORKFLOW_SERIALIZE] === "function"
  );
}

/** The class registered under `id` in `realm`. */
export function findSerializableClass(id: string, realm: object): SerializableClass | undefined {
  return registryOf(realm, false)?.get(id);
}
