import * as vm from "node:vm";
import { describe, expect, it } from "vitest";
import { FatalError, RetryableError } from "../sandbox/errors.js";
import { registerSerializableClass, WORKFLOW_DESERIALIZE, WORKFLOW_SERIALIZE } from "./classes.js";
import { MAX_DEPTH } from "./depth.js";
import {
  deserialize,
  deserializeError,
  registerReducer,
  SerializationError,
  serialize,
  serializeAsync,
  serializeError,
} from "./index.js";

/** A bare realm, like a sandbox's, to check values cross realms both ways. */
function makeRealm(): typeof globalThis & Record<string, any> {
  return vm.runInContext("globalThis", vm.createContext({}));
}

const roundTrip = <T>(value: T, realm?: typeof globalThis): T =>
  deserialize(serialize(value), { realm }) as T;

const samples = (): Record<string, unknown> => ({
  primitives: [1, -0, Number.NaN, Number.POSITIVE_INFINITY, "s", true, null, undefined, 10n ** 30n],
  date: new Date("2024-05-06T07:08:09.010Z"),
  invalidDate: new Date(Number.NaN),
  map: new Map<unknown, unknown>([
    ["a", 1],
    [{ k: 1 }, [2]],
  ]),
  set: new Set([1, "two", { three: 3 }]),
  regexp: /a+b/gi,
  url: new URL("https://example.com/a?b=1#c"),
  params: new URLSearchParams("a=1&a=2&b=3"),
  u8: new Uint8Array([1, 2, 255]),
  i16: new Int16Array([-1, 300]),
  f64: new Float64Array([1.5, -2.25]),
  big64: new BigInt64Array([-(2n ** 60n)]),
  sub: new Uint8Array([0, 1, 2, 3, 4]).subarray(1, 3),
  buffer: new Uint8Array([9, 8, 7]).buffer,
  nullProto: Object.assign(Object.create(null), { x: 1 }),
  // biome-ignore lint/suspicious/noSparseArray: sparse arrays must round-trip
  sparse: [1, , 3],
});

describe("serialize / deserialize in the host realm", () => {
  it("round-trips every supported type", () => {
    const value = samples();
    expect(roundTrip(value)).toEqual(value);
    const back = roundTrip(value) as any;
    expect(back.date).toBeInstanceOf(Date);
    expect(back.map).toBeInstanceOf(Map);
    expect(back.url).toBeInstanceOf(URL);
    expect(back.sub).toEqual(new Uint8Array([1, 2]));
    expect(Object.getPrototypeOf(back.nullProto)).toBeNull();
    expect(1 in back.sparse).toBe(false);
    expect(Object.is(back.primitives[1], -0)).toBe(true);
  });

  it("keeps cycles and repeated references", () => {
    const shared = { n: 1 };
    const value: any = { a: shared, b: shared, list: [shared] };
    value.self = value;
    const back = roundTrip(value) as any;
    expect(back.a).toBe(back.b);
    expect(back.list[0]).toBe(back.a);
    expect(back.self).toBe(back);
  });

  it("round-trips Headers, and Request/Response without a body synchronously", () => {
    const headers = new Headers([
      ["x-a", "1"],
      ["set-cookie", "a=1"],
      ["set-cookie", "b=2"],
    ]);
    const back = roundTrip({ headers }).headers as Headers;
    expect(back).toBeInstanceOf(Headers);
    expect(back.get("x-a")).toBe("1");
    expect(back.getSetCookie()).toEqual(["a=1", "b=2"]);
    const req = roundTrip(new Request("https://x.test/p", { method: "DELETE", headers: { a: "b" } }));
    expect(req).toBeInstanceOf(Request);
    expect([req.method, req.url, req.headers.get("a")]).toEqual(["DELETE", "https://x.test/p", "b"]);
    const res = roundTrip(new Response(null, { status: 204, statusText: "No Content" }));
    expect([res.status, res.statusText]).toEqual([204, "No Content"]);
  });

  it("needs serializeAsync for bodies, and reads them from a clone", async () => {
    const req = new Request("https://x.test/p", { method: "POST", body: "hello" });
    expect(() => serialize({ req }, { path: "args" })).toThrow(
      /^Failed to serialize workflow arguments at path "args\.req": a Request cannot be serialized: its body can only be read asynchronously\. Use serializeAsync/,
    );
    const back = deserialize(await serializeAsync({ req, res: new Response("ok", { status: 201 }) })) as any;
    expect(await back.req.text()).toBe("hello");
    expect(back.res.status).toBe(201);
    expect(await back.res.text()).toBe("ok");
    expect(await req.text()).toBe("hello"); // the caller's request is still unread
  });

  it("serializeAsync still rejects promises of the user", async () => {
    await expect(serializeAsync({ p: Promise.resolve(1) }, { path: "returnValue" })).rejects.toThrow(
      /^returnValue\.p: a Promise cannot be serialized\. Await it/,
    );
  });
});

describe("unserializable values", () => {
  class Socket {}
  const fails = (value: unknown, path: string) => {
    try {
      serialize(value, { path: "args" });
    } catch (error) {
      expect(error).toBeInstanceOf(SerializationError);
      const e = error as SerializationError;
      expect(e.path).toBe(path);
      expect(e.code).toBe("SERIALIZATION_FAILED");
      expect(e.slug).toBe("serialization-unsupported-value");
      return e.message;
    }
    throw new Error("expected serialize to throw");
  };

  it("names the path and the constructor", () => {
    const message = fails([{ user: { socket: new Socket() } }], "args[0].user.socket");
    expect(message).toMatch(
      /^Failed to serialize workflow arguments at path "args\[0\]\.user\.socket": a Socket cannot be serialized\. Pass plain data/,
    );
    expect(message).toContain("(see docs: serialization-unsupported-value)");
  });

  it("covers functions, symbols, WeakMaps, promises, symbol keys and map values", () => {
    expect(fails({ cb: function onDone() {} }, "args.cb")).toMatch(
      /a function `onDone` cannot be serialized/,
    );
    expect(fails({ s: Symbol("x") }, "args.s")).toMatch(/a symbol cannot be serialized\. Use a string/);
    expect(fails({ w: new WeakMap() }, "args.w")).toMatch(/a WeakMap cannot be serialized/);
    expect(fails({ p: Promise.resolve() }, "args.p")).toMatch(/a Promise cannot be serialized\. Await it/);
    expect(fails({ o: { [Symbol("k")]: 1 } }, "args.o")).toMatch(/symbol keys/);
    expect(fails(new Map([["k", new Socket()]]), 'args.get("k")')).toMatch(/a Socket/);
    expect(fails(new Socket(), "args")).toMatch(
      /^Failed to serialize workflow arguments at path "args": a Socket/,
    );
  });

  it("does not trust a forged Symbol.toStringTag", () => {
    class FakeMap {
      get [Symbol.toStringTag]() {
        return "Map";
      }
    }
    expect(fails({ m: new FakeMap() }, "args.m")).toMatch(/a FakeMap cannot be serialized/);
  });
});

describe("classes with serializers", () => {
  class Money {
    constructor(
      readonly cents: number,
      readonly currency: string,
    ) {}
    static [WORKFLOW_SERIALIZE](m: Money) {
      return { cents: m.cents, currency: m.currency, at: new Date(0) };
    }
    static [WORKFLOW_DESERIALIZE](d: { cents: number; currency: string }) {
      return new Money(d.cents, d.currency);
    }
  }
  registerSerializableClass("test.Money", Money);

  class Point {
    static classId = "test.Point";
    constructor(readonly x: number) {}
    static [WORKFLOW_SERIALIZE](p: Point) {
      return p.x; // falsy data (0) must work too
    }
    static [WORKFLOW_DESERIALIZE](x: number) {
      return new Point(x);
    }
  }

  it("round-trips registered classes and classes with a static classId", () => {
    const back = roundTrip({ price: new Money(1250, "EUR"), origin: new Point(0) }) as any;
    expect(back.price).toBeInstanceOf(Money);
    expect(back.price).toEqual(new Money(1250, "EUR"));
    expect(back.origin).toBeInstanceOf(Point);
    expect(back.origin.x).toBe(0);
  });

  it("asks for an ID when a class has serializers but no ID", () => {
    // biome-ignore lint/complexity/noStaticOnlyClass: the serializer protocol is static methods
    class Anonymous {
      static [WORKFLOW_SERIALIZE]() {
        return 1;
      }
      static [WORKFLOW_DESERIALIZE]() {
        return new Anonymous();
      }
    }
    expect(() => serialize({ a: new Anonymous() }, { path: "args" })).toThrow(
      /"args\.a": an Anonymous cannot be serialized: .*registerSerializableClass\("Anonymous", Anonymous\)/,
    );
  });

  it("revives with the class registered in the target realm", () => {
    const realm = makeRealm();
    const RealmMoney = vm.runInContext(
      `class Money { constructor(c) { this.c = c } static [Symbol.for("workflow-serialize")](m) { return m.c }
         static [Symbol.for("workflow-deserialize")](c) { return new Money(c) } }; Money`,
      vm.createContext(realm),
    );
    registerSerializableClass("test.Money", RealmMoney, realm);
    const back = deserialize(serialize(new Money(5, "USD")), { realm }) as any;
    expect(back).toBeInstanceOf(RealmMoney);
  });

  it("fails clearly for an unknown class ID", () => {
    const text = serialize(new Money(1, "EUR")).replace("test.Money", "test.Gone");
    expect(() => deserialize(text)).toThrow(/no serializable class is registered under the ID "test\.Gone"/);
  });
});

describe("across realms", () => {
  it("serializes values created in another realm (sandbox → host)", () => {
    const realm = makeRealm();
    const ctx = vm.createContext(realm);
    const value = vm.runInContext(
      `({ date: new Date(5), map: new Map([[1, { a: [1, 2] }]]), set: new Set([1]), re: /x/g, big: 5n,
          u8: new Uint8Array([1, 2]), buf: new ArrayBuffer(2), nested: Object.create(null),
          err: new TypeError("bad") })`,
      ctx,
    );
    const back = deserialize(serialize(value)) as any;
    expect(back.date).toBeInstanceOf(Date);
    expect(back.date.getTime()).toBe(5);
    expect(back.map).toBeInstanceOf(Map);
    expect(back.map.get(1)).toEqual({ a: [1, 2] });
    expect(back.map.get(1)).toBeInstanceOf(Object);
    expect(back.set).toBeInstanceOf(Set);
    expect(back.re).toBeInstanceOf(RegExp);
    expect(back.u8).toBeInstanceOf(Uint8Array);
    expect(back.buf).toBeInstanceOf(ArrayBuffer);
    expect(back.err).toBeInstanceOf(TypeError);
    expect(back.err.message).toBe("bad");
  });

  it("revives into the target realm's constructors (host → sandbox)", () => {
    const realm = makeRealm();
    const value = { ...samples(), err: new RangeError("r"), list: [{ a: 1 }] };
    const back = deserialize(serialize(value), { realm }) as any;
    const r = realm as any;
    expect(back).toBeInstanceOf(r.Object);
    expect(back).not.toBeInstanceOf(Object);
    expect(back.list).toBeInstanceOf(r.Array);
    expect(back.date).toBeInstanceOf(r.Date);
    expect(back.invalidDate).toBeInstanceOf(r.Date);
    expect(Number.isNaN(back.invalidDate.getTime())).toBe(true);
    expect(back.map).toBeInstanceOf(r.Map);
    expect(back.set).toBeInstanceOf(r.Set);
    expect(back.regexp).toBeInstanceOf(r.RegExp);
    expect(back.regexp.flags).toBe("gi");
    expect(back.u8).toBeInstanceOf(r.Uint8Array);
    expect(back.u8.buffer).toBeInstanceOf(r.ArrayBuffer);
    expect(back.big64).toBeInstanceOf(r.BigInt64Array);
    expect(back.buffer).toBeInstanceOf(r.ArrayBuffer);
    expect(back.err).toBeInstanceOf(r.RangeError);
    expect(back.err).toBeInstanceOf(r.Error);
    expect(back.url.href).toBe("https://example.com/a?b=1#c");
    expect(Array.from(back.sub)).toEqual([1, 2]);
    expect(back.map.get("a")).toBe(1);
    // and the same content as a host round-trip
    expect(JSON.stringify(back, (_k, v) => (typeof v === "bigint" ? String(v) : v))).toBe(
      JSON.stringify(roundTrip(value), (_k, v) => (typeof v === "bigint" ? String(v) : v)),
    );
  });
});

describe("errors", () => {
  it("keeps name, message, stack, cause chains and own properties", () => {
    const root = new Error("root cause");
    const err = Object.assign(new TypeError("outer", { cause: root }), {
      code: "E_OUTER",
      details: { at: new Date(1) },
    });
    const back = deserializeError(serializeError(err)) as any;
    expect(back).toBeInstanceOf(TypeError);
    expect(back.name).toBe("TypeError");
    expect(back.message).toBe("outer");
    expect(back.stack).toBe(err.stack);
    expect(back.code).toBe("E_OUTER");
    expect(back.details.at).toBeInstanceOf(Date);
    expect(back.cause).toBeInstanceOf(Error);
    expect(back.cause.message).toBe("root cause");
    expect(back.cause.stack).toBe(root.stack);
    expect(Object.keys(back)).toEqual(["code", "details"]);
  });

  it("keeps custom error names on a plain Error", () => {
    class ValidationError extends Error {
      constructor(readonly field: string) {
        super(`invalid ${field}`);
        this.name = "ValidationError";
      }
    }
    const back = deserializeError(serializeError(new ValidationError("email"))) as any;
    expect(back).toBeInstanceOf(Error);
    expect(back.name).toBe("ValidationError");
    expect(back.field).toBe("email");
    expect(String(back)).toBe("ValidationError: invalid email");
  });

  it("keeps FatalError and RetryableError identity", () => {
    const fatal = deserializeError(serializeError(new FatalError("no")));
    expect(FatalError.is(fatal)).toBe(true);
    expect(fatal).toBeInstanceOf(FatalError);
    const retryAfter = new Date(Date.UTC(2030, 0, 1));
    const retry = deserializeError(serializeError(new RetryableError("later", { retryAfter })));
    expect(RetryableError.is(retry)).toBe(true);
    expect(FatalError.is(retry)).toBe(false);
    expect((retry as RetryableError).retryAfter.getTime()).toBe(retryAfter.getTime());
    const realm = makeRealm();
    const inSandbox = deserializeError(serializeError(new FatalError("no")), { realm });
    expect(FatalError.is(inSandbox)).toBe(true);
    expect(inSandbox).toBeInstanceOf((realm as any).Error);
  });

  it("serializes errors nested in values, AggregateError and errors from another realm", () => {
    const agg = new AggregateError([new Error("a"), new RangeError("b")], "many");
    const back = roundTrip({ failures: [agg] }) as any;
    expect(back.failures[0]).toBeInstanceOf(AggregateError);
    expect(back.failures[0].errors[1]).toBeInstanceOf(RangeError);
    const foreign = vm.runInContext(`const e = new SyntaxError("s"); e.extra = 1; e`, vm.createContext({}));
    const revived = deserializeError(serializeError(foreign)) as any;
    expect(revived).toBeInstanceOf(SyntaxError);
    expect(revived.extra).toBe(1);
  });

  it("never throws: unserializable parts become descriptions, cycles are cut", () => {
    class Socket {}
    const err: any = new Error("with junk", { cause: { fn: () => 1 } });
    err.socket = new Socket();
    err.self = err;
    const back = deserializeError(serializeError(err)) as any;
    expect(back.message).toBe("with junk");
    expect(back.socket).toBe("[unserializable: a Socket]");
    expect(back.cause.fn).toBe("[unserializable: a function `fn`]");
    expect(back.self).toBe("[Circular]");
    const a: any = new Error("a");
    const b: any = new Error("b", { cause: a });
    a.cause = b;
    const backA = deserializeError(serializeError(a)) as any;
    expect(backA.cause.message).toBe("b");
    expect(backA.cause.cause).toBe("[Circular]");
  });

  it("turns thrown non-errors into errors", () => {
    expect(deserializeError(serializeError("plain string")).message).toBe("plain string");
    const fromObject = deserializeError(serializeError({ code: 1 }));
    expect(fromObject).toBeInstanceOf(Error);
    expect(fromObject.message).toBe('A non-Error value was thrown: {"code":1}');
  });
});

describe("extension reducers", () => {
  it("lets the engine add kinds of values, per call or registered", () => {
    class Handle {
      constructor(readonly id: string) {}
    }
    const reducer = {
      tag: "test.Handle",
      reduce: (v: unknown) => (v instanceof Handle ? v.id : undefined),
      revive: (id: unknown) => new Handle(id as string),
    };
    expect(() => serialize(new Handle("h"))).toThrow(SerializationError);
    const once = deserialize(serialize({ h: new Handle("h1") }, { reducers: [reducer] }), {
      reducers: [reducer],
    }) as any;
    expect(once.h).toEqual(new Handle("h1"));
    const unregister = registerReducer(reducer);
    try {
      expect((roundTrip([new Handle("h2")]) as any)[0]).toEqual(new Handle("h2"));
      expect(() => registerReducer(reducer)).toThrow(/already registered/);
    } finally {
      unregister();
    }
    expect(() => registerReducer({ ...reducer, tag: "Date" })).toThrow(/built in/);
  });
});

describe("corrupt input", () => {
  it("fails with a SerializationError", () => {
    expect(() => deserialize("not json")).toThrow(SerializationError);
  });
});

/** A realm hardened like the workflow realm: every built-in prototype frozen. */
function frozenRealm(): typeof globalThis & Record<string, any> {
  const realm = makeRealm();
  vm.runInContext(
    `for (const C of [Object, Array, Function, Error, Map, Set, Date, RegExp]) {
       Object.freeze(C.prototype); Object.freeze(C);
     }`,
    vm.createContext(realm),
  );
  return realm;
}

describe("own keys", () => {
  // JSON.parse defines `__proto__` as an own key, as webhook bodies and API payloads do.
  const tricky = () =>
    JSON.parse(
      `{"constructor": 1, "toString": "x", "valueOf": [1], "hasOwnProperty": {"a": 1}, "isPrototypeOf": null,
        "__proto__": {"polluted": true}, "~__proto__": "tilde", "~~__proto__": "two",
        "nested": {"__proto__": [1], "__defineGetter__": 2}, "list": [{"propertyIsEnumerable": 3}]}`,
    );
  const sameKeys = (back: any, original: any) => {
    expect(Reflect.ownKeys(back)).toEqual(Reflect.ownKeys(original));
    expect(Object.getOwnPropertyDescriptor(back, "__proto__")?.value).toEqual({ polluted: true });
    expect(back["~__proto__"]).toBe("tilde");
    expect(back["~~__proto__"]).toBe("two");
    expect(back.toString).toBe("x");
    expect(Object.hasOwn(back.nested, "__proto__")).toBe(true);
    expect(back.list[0].propertyIsEnumerable).toBe(3);
  };

  it("round-trip exactly in the host realm, without touching any prototype", () => {
    const original = tricky();
    const back = roundTrip(original) as any;
    sameKeys(back, original);
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(back.nested)).toBe(Object.prototype);
    expect(({} as any).polluted).toBeUndefined();
  });

  it("round-trip into a realm whose prototypes are frozen (no override mistake)", () => {
    const realm = frozenRealm();
    const original = tricky();
    const back = deserialize(serialize(original), { realm }) as any;
    sameKeys(back, original);
    expect(Object.getPrototypeOf(back)).toBe(realm.Object.prototype);
    // And back out of that realm, as a step argument or a return value would go.
    sameKeys(deserialize(serialize(back)), original);
  });

  it("stay own keys of null-prototype objects, Map values and error properties", () => {
    const nullProto = Object.assign(Object.create(null), tricky());
    const error = Object.assign(new Error("e"), { toString: "own", constructor: 5 });
    const realm = frozenRealm();
    for (const target of [undefined, realm]) {
      const back = deserialize(serialize({ nullProto, map: new Map([["k", tricky()]]), error }), {
        realm: target,
      }) as any;
      expect(Object.getPrototypeOf(back.nullProto)).toBeNull();
      expect(Reflect.ownKeys(back.nullProto)).toEqual(Reflect.ownKeys(nullProto));
      sameKeys(back.map.get("k"), tricky());
      expect(Object.hasOwn(back.error, "toString") && back.error.toString).toBe("own");
      expect(back.error.constructor).toBe(5);
    }
  });
});

describe("nesting depth", () => {
  const nested = (depth: number): any => {
    let value: any = { leaf: true };
    for (let i = 1; i < depth; i++) value = { a: value };
    return value;
  };

  it(`accepts ${MAX_DEPTH} levels, in the host and in another realm`, () => {
    const text = serialize(nested(MAX_DEPTH));
    let back = deserialize(text) as any;
    for (let i = 1; i < MAX_DEPTH; i++) back = back.a;
    expect(back).toEqual({ leaf: true });
    expect(deserialize(text, { realm: makeRealm() })).toBeTruthy();
    // Arrays, Maps and Sets count like objects.
    let mixed: any = 1;
    for (let i = 0; i < MAX_DEPTH; i++)
      mixed = i % 3 === 0 ? [mixed] : i % 3 === 1 ? new Map([[i, mixed]]) : new Set([mixed]);
    expect(deserialize(serialize(mixed))).toBeTruthy();
  });

  it("refuses one level more at serialize time, naming the path and the limit", () => {
    for (const depth of [MAX_DEPTH + 1, 5_000, 20_000]) {
      let error: SerializationError | undefined;
      try {
        serialize([nested(depth)], { path: "args" });
      } catch (e) {
        error = e as SerializationError;
      }
      expect(error).toBeInstanceOf(SerializationError);
      expect(error!.path).toBe(`args[0]${".a".repeat(MAX_DEPTH - 1)}`);
      expect(error!.message).toMatch(/nested more than 1000 levels deep/);
      expect(error!.message.length).toBeLessThan(800);
    }
  });

  it("refuses deep values inside Sets, Map keys, errors and class data as well", () => {
    const deep = nested(MAX_DEPTH);
    expect(() => serialize(new Set([deep]))).toThrow(/nested more than 1000 levels/);
    expect(() => serialize(new Map([[deep, 1]]))).toThrow(/nested more than 1000 levels/);
    expect(() => serialize(Object.assign(new Error("e"), { data: deep }))).toThrow(
      /nested more than 1000 levels/,
    );
    // serializeError never throws: it keeps what it can.
    expect(deserializeError(serializeError(Object.assign(new Error("kept"), { data: deep }))).message).toBe(
      "kept",
    );
  });

  it("refuses data nested deeper than the limit when reviving, without overflowing the stack", () => {
    // What serialize would write for 20,000 levels, built by hand.
    const entries = Array.from({ length: 20_000 }, (_, i) => `{"a":${i + 1}}`);
    const text = `[${entries.join(",")},1]`;
    for (const realm of [undefined, makeRealm()]) {
      expect(() => deserialize(text, { realm })).toThrow(
        /nested more than 1000 levels deep.*so it was not revived/,
      );
    }
  });
});

describe("messages at the boundaries WDK names", () => {
  it('start with "Failed to serialize <boundary>", which WDK tells workflow code to match', () => {
    const message = (path: string) => {
      try {
        serialize({ fn: () => 1 }, { path });
      } catch (error) {
        return (error as Error).message;
      }
      throw new Error("serialize() accepted a function");
    };
    expect(message("step//src/a.ts//charge input")).toMatch(
      /^Failed to serialize step arguments at path "step\/\/src\/a\.ts\/\/charge input\.fn": a function/,
    );
    expect(message("args")).toMatch(/^Failed to serialize workflow arguments at path "args\.fn"/);
    expect(message("workflow return value")).toMatch(/^Failed to serialize workflow return value at path/);
    expect(message("step//src/a.ts//wf/inner return value")).toMatch(
      /^Failed to serialize step return value/,
    );
    // Other values keep the path first.
    expect(message("hook payload")).toMatch(/^hook payload\.fn: a function/);
    expect(message("arguments")).toMatch(/^arguments\.fn:/);
  });
});
