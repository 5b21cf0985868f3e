/**
 * What the shared realm guarantees: the host process is left alone, workflow code reaches nothing of the host
 * realm, the clock and randomness of a run are the only ones it can read, one run cannot change what another sees,
 * and code that never yields is stopped.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { inspect } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { deserialize, serialize } from "../serialization/index.js";
import { settledIn } from "./__tests__/settled.js";
import { compileWorkflowBundle } from "./bundle.js";
import { createSandbox, type Sandbox, WorkflowTimeoutError } from "./sandbox.js";
import { useTimeLimitMechanism } from "./time-limit.js";

/** Values workflow code can get hold of, beyond the globals: instances, iterators, results, errors. */
const PRODUCED = `(() => {
  const caught = (f) => { try { f(); } catch (e) { return e; } };
  const quiet = (promise) => (promise.catch(() => {}), promise);
  const url = new URL("https://x.test/a?b=1");
  return [
    url, url.searchParams, url.searchParams.entries(), new URLSearchParams("a=1"), new Headers({ a: "1" }),
    new Headers().entries(), new Request("https://x.test", { method: "POST", body: "b" }),
    new Response("ok", { status: 201 }), Response.json({ a: 1 }), new Response("x").text(),
    new TextEncoder(), new TextEncoder().encodeInto("a", new Uint8Array(4)), new TextDecoder(),
    new WeakRef({}), new FinalizationRegistry(() => {}), crypto, console, Date, Math,
    caught(() => new URL("not a url")), caught(() => atob("*")), caught(() => new Response(null, { status: 1 })),
    caught(() => crypto.getRandomValues(new Float32Array(1))), caught(() => structuredClone(() => 1)),
    caught(() => setTimeout(() => {})), caught(() => new TextDecoder("no-such-encoding")),
    caught(() => { const a = []; a.push(a); JSON.stringify(a); }),
    quiet(import("node:child_process")), quiet(Function("return import('fs')")()),
  ];
})()`;

/** Every object reachable from `roots` through prototypes and own properties (getters are not called). */
function reachable(roots: unknown[]): Set<object> {
  const seen = new Set<object>();
  const queue = [...roots];
  while (queue.length > 0) {
    const value = queue.pop();
    if ((typeof value !== "object" && typeof value !== "function") || value === null || seen.has(value))
      continue;
    seen.add(value);
    queue.push(Object.getPrototypeOf(value));
    for (const key of Reflect.ownKeys(value)) {
      const d = Object.getOwnPropertyDescriptor(value, key);
      if (d) queue.push(d.value, d.get, d.set);
    }
  }
  return seen;
}

const HOST_INTRINSICS = new Map<unknown, string>([
  [Object.prototype, "Object.prototype"],
  [Function.prototype, "Function.prototype"],
  [Function, "Function"],
  [Object, "Object"],
  [Error.prototype, "Error.prototype"],
  [Promise.prototype, "Promise.prototype"],
  [Array.prototype, "Array.prototype"],
]);

describe("the host process", () => {
  it("keeps its own intrinsics writable after workflow code ran", () => {
    const sb = createSandbox({ seed: "host" });
    sb.evaluate(
      `${PRODUCED}; new Response("x").headers.get("a"); new TextDecoder().decode(new Uint8Array(1))`,
    );
    for (const [name, value] of Object.entries({
      "Object.prototype": Object.prototype,
      "Function.prototype": Function.prototype,
      Object,
      Function,
      "URL.prototype": URL.prototype,
      "URLSearchParams.prototype": URLSearchParams.prototype,
      "Headers.prototype": Headers.prototype,
      "Request.prototype": Request.prototype,
      "Response.prototype": Response.prototype,
      "TextDecoder.prototype": TextDecoder.prototype,
      "TextEncoder.prototype": TextEncoder.prototype,
    })) {
      expect(Object.isFrozen(value), name).toBe(false);
    }
    // Application code (strict, as modules are) overrides inherited members as usual.
    const o: Record<string, unknown> = {};
    o.toString = () => "mine";
    o.constructor = 1;
    expect(String(o)).toBe("mine");
  });
});

describe("workflow code", () => {
  it("reaches no object of the host realm, from its globals or from anything they give it", () => {
    const sb = createSandbox({ seed: "reach" });
    const produced = sb.evaluate(PRODUCED) as unknown[];
    // The reasons of rejected promises too (a dynamic import is refused with an error).
    const reasons = produced.flatMap((value) => {
      if (!(value instanceof sb.global.Promise)) return [];
      const settled = settledIn(sb, value);
      return settled ? [settled.ok ? settled.value : settled.error] : [];
    });
    const seen = reachable([sb.global, produced, reasons]);
    expect(seen.size).toBeGreaterThan(500);
    const leaks = [...seen].filter((value) => HOST_INTRINSICS.has(value)).map((v) => HOST_INTRINSICS.get(v));
    expect(leaks).toEqual([]);
  });

  it("gets the realm's Function, without `process`, through any built-in's constructor", () => {
    const sb = createSandbox({ seed: "fn" });
    for (const path of [
      "console.log",
      "Date.now",
      "Math.random",
      "crypto.randomUUID",
      "queueMicrotask",
      "structuredClone",
      "setTimeout",
      "URL",
      "Response.prototype.text",
      "Error.prepareStackTrace",
      "Object.getPrototypeOf(async function () {}).constructor",
    ]) {
      expect(sb.evaluate(`${path}.constructor("return typeof process")()`), path).toBe("undefined");
    }
    expect(
      sb.evaluate(`(() => { try { new URL("nope") } catch (e) { return e instanceof TypeError } })()`),
    ).toBe(true);
  });

  it("cannot import modules: import() rejects with an error of the realm, also in code compiled at run time", () => {
    const sb = createSandbox({ seed: "import" });
    sb.run(
      compileWorkflowBundle(
        `globalThis.attempts = [
          () => import("node:child_process"),
          () => import /* a comment */ ("fs"),
          () => Function("return import('fs')")(),
          () => new (async function () {}).constructor("return await import('fs')")(),
          () => eval("import('fs')"),
          () => (0, eval)("import('fs')"),
        ];`,
        { filename: "/virtual/imports.js" },
      ),
    );
    const attempts = sb.global.attempts as (() => unknown)[];
    for (const attempt of attempts) {
      const settled = settledIn(sb, sb.enter(attempt));
      expect(settled?.ok, String(attempt)).toBe(false);
      const error = (settled as { error: any }).error;
      expect(error).toBeInstanceOf(sb.global.Error);
      expect(error.code).toBe("WORKFLOW_UNSUPPORTED_GLOBAL");
      expect(error.constructor.constructor("return typeof process")()).toBe("undefined");
    }
    // Only the syntax is rewritten, not text that looks like it.
    expect(sb.evaluate(`"import('x')" + \`import(\${1})\` + /import\\(/.source`)).toBe(
      "import('x')import(1)import\\(",
    );
  });

  it("reads only its run's clock, however it reaches Date or Intl", () => {
    const sb = createSandbox({ seed: "clock" });
    const t = Date.UTC(2001, 1, 3, 4, 5, 6);
    sb.setTime(t);
    expect(
      sb.evaluate(`[
        Date.now(), new Date().getTime(), new (new Date().constructor)().getTime(), new Date().constructor.now(),
        Object.getPrototypeOf(globalThis).Date.now(), Function("return Date.now()")(), Date.prototype.constructor.now(),
      ]`),
    ).toEqual([t, t, t, t, t, t, t]);
    expect(sb.evaluate(`new Date().constructor === Date`)).toBe(true);
    expect(sb.evaluate(`new Intl.DateTimeFormat("en", { timeZone: "UTC", year: "numeric" }).format()`)).toBe(
      "2001",
    );
    expect(
      sb.evaluate(
        `new Intl.DateTimeFormat("en", { timeZone: "UTC", year: "numeric" }).formatToParts()[0].value`,
      ),
    ).toBe("2001");
    expect(sb.evaluate(`Date()`)).toContain("2001");
  });

  it("draws only from its run's seeded randomness, through every path", () => {
    const draw = (seed: string) =>
      createSandbox({ seed }).evaluate(`[
        Math.random(), typeof Object.getPrototypeOf(Math).random, Object.getPrototypeOf(globalThis).Math.random(),
        Function("return Math.random()")(), crypto.randomUUID(), globalThis.Math === Math,
      ]`);
    const a = draw("seed-a");
    expect(draw("seed-a")).toEqual(a);
    expect(draw("seed-b")).not.toEqual(a);
    expect(a[1]).toBe("undefined");
  });

  it("cannot change another run's stacks: Error is frozen, stacks are source-mapped the same for every run", () => {
    const a = createSandbox({ seed: "a" });
    const b = createSandbox({ seed: "b" });
    expect(() => a.evaluate(`Error.prepareStackTrace = () => "hijacked"`)).toThrow(/read only/);
    expect(() => a.evaluate(`Error.stackTraceLimit = 0`)).toThrow(/read only/);
    expect(() =>
      a.evaluate(`Object.defineProperty(Error, "prepareStackTrace", { value: () => "x" })`),
    ).toThrow(/Cannot (redefine|define)/);
    expect(b.evaluate(`new Error("mine").stack`)).toMatch(/^Error: mine\n {4}at /);
  });

  it("lets objects override inherited members of frozen intrinsics, but never the intrinsics themselves", () => {
    const a = createSandbox({ seed: "a" });
    const b = createSandbox({ seed: "b" });
    // Strict code, as in ES modules: the frozen prototype's member would otherwise make these assignments throw.
    expect(
      a.evaluate(`(() => { "use strict";
        const o = {}; o.toString = () => "mine";
        class E extends Error {} E.prototype.name = "E";
        function F() {} F.prototype = Object.create(Error.prototype); F.prototype.constructor = F;
        return [String(o), new E("x").name, new F().constructor === F, Object.keys(o)];
      })()`),
    ).toEqual(["mine", "E", true, ["toString"]]);
    expect(() => a.evaluate(`"use strict"; Object.prototype.toString = () => "hijacked"`)).toThrow(
      /read only property 'toString'/,
    );
    expect(() => a.evaluate(`"use strict"; Error.prototype.name = "hijacked"`)).toThrow(/read only/);
    expect(b.evaluate(`[String({}), new Error("m").name]`)).toEqual(["[object Object]", "Error"]);
  });

  it("names the stream classes, so libraries that extend them load, and refuses to construct them", () => {
    const sb = createSandbox({ seed: "s" });
    expect(sb.evaluate(`class Lines extends TransformStream {}; typeof Lines`)).toBe("function");
    expect(sb.evaluate(`({}) instanceof ReadableStream`)).toBe(false);
    expect(() => sb.evaluate(`new WritableStream()`)).toThrow(
      /new WritableStream\(\) is not available in workflow code/,
    );
  });

  it("cannot observe garbage collection or settle promises outside its turns", () => {
    const sb = createSandbox({ seed: "gc" });
    expect(sb.evaluate(`const target = {}; new WeakRef(target).deref() === target`)).toBe(true);
    expect(sb.evaluate(`new FinalizationRegistry(() => {}).register({}, 1) === undefined`)).toBe(true);
    expect(() => sb.evaluate(`Atomics.waitAsync(new Int32Array(new SharedArrayBuffer(4)), 0, 0)`)).toThrow(
      /not available in workflow code/,
    );
    // The smallest WebAssembly module: compiled within the turn that asked for it.
    const compiled = settledIn(
      sb,
      sb.evaluate(`WebAssembly.compile(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]))`),
    );
    expect(compiled?.ok && compiled.value instanceof sb.global.WebAssembly.Module).toBe(true);
  });
});

describe("the web classes of workflow code", () => {
  it("are the realm's, work like the platform's, and read bodies built in workflow code without I/O", () => {
    const sb = createSandbox({ seed: "web" });
    const text = settledIn(sb, sb.evaluate(`new Response("ok", { status: 201 }).text()`));
    expect(text).toEqual({ ok: true, value: "ok" });
    const json = settledIn(sb, sb.evaluate(`Response.json({ a: [1] }).json()`));
    expect(json?.ok && json.value.a[0]).toBe(1);
    expect(
      sb.evaluate(`(() => {
        const r = new Request("https://x.test/p", { method: "POST", body: new URLSearchParams("a=1"), headers: { "x-a": "b" } });
        const c = r.clone();
        return [r instanceof Request, r.headers.get("content-type"), [...c.headers].length, c.method, r.bodyUsed,
          new Headers([["a", "1"], ["a", "2"]]).get("a"), new URLSearchParams("a=1&a=2").getAll("a").length,
          Object.prototype.toString.call(new Headers())];
      })()`),
    ).toEqual([
      true,
      "application/x-www-form-urlencoded;charset=UTF-8",
      2,
      "POST",
      false,
      "1, 2",
      2,
      "[object Headers]",
    ]);
    // console.log in workflow code shows them as Node shows its own.
    expect(inspect(sb.evaluate(`new URL("https://x.test/a")`))).toContain("href: 'https://x.test/a'");
    const used = settledIn(
      sb,
      sb.evaluate(`(() => { const r = new Response("x"); r.text(); return r.text(); })()`),
    );
    expect(used?.ok).toBe(false);
    expect(() => sb.evaluate(`new Response("x").body`)).toThrow(/stream/);
  });

  it("serialize synchronously (their bytes are known) and revive as the host's classes", () => {
    const sb = createSandbox({ seed: "web2" });
    const made = sb.evaluate(`({ res: new Response("hello", { status: 202, headers: { "x-a": "1" } }),
      url: new URL("https://x.test/?q=1"), params: new URLSearchParams("a=1") })`);
    const back = deserialize(serialize(made)) as { res: Response; url: URL; params: URLSearchParams };
    expect(back.res).toBeInstanceOf(Response);
    expect([back.res.status, back.res.headers.get("x-a")]).toEqual([202, "1"]);
    expect(back.url).toBeInstanceOf(URL);
    expect(back.url.searchParams.get("q")).toBe("1");
    expect(back.params.get("a")).toBe("1");
    return expect(back.res.text()).resolves.toBe("hello");
  });
});

describe.each(["inspector", "vm"] as const)("code that never yields (%s time limit)", (mechanism) => {
  afterEach(() => useTimeLimitMechanism(undefined));

  it("is stopped with WORKFLOW_TIMEOUT, synchronously or after an await, and the sandbox stays stopped", () => {
    useTimeLimitMechanism(mechanism);
    for (const code of ["while (true) {}", "(async () => { await null; for (;;) {} })()"]) {
      const sb = createSandbox({ seed: "loop", timeLimitMs: 200 });
      let error: unknown;
      try {
        sb.evaluate(code);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(WorkflowTimeoutError);
      expect((error as WorkflowTimeoutError).code).toBe("WORKFLOW_TIMEOUT");
      expect((error as Error).message).toMatch(/more than 200 ms without yielding.*"use step"/s);
      expect(sb.timedOut).toBe(true);
      expect(() => sb.evaluate("1")).toThrow(WorkflowTimeoutError);
    }
  });

  it("keeps the host's async context intact when stopped inside a promise reaction", async () => {
    useTimeLimitMechanism(mechanism);
    // An AsyncLocalStorage turns Node's promise hooks on, in the workflow realm too (nodejs/node#38503).
    const storage = new AsyncLocalStorage<{ id: number }>();
    const store = { id: 1 };
    await storage.run(store, async () => {
      await Promise.resolve();
      const sb = createSandbox({ seed: "hooks", timeLimitMs: 200 });
      expect(() => sb.evaluate("(async () => { await null; while (true) {} })()")).toThrow(
        WorkflowTimeoutError,
      );
      expect(storage.getStore()).toBe(store);
      await new Promise((resolve) => setImmediate(resolve));
      expect(storage.getStore()).toBe(store);
    });
  });

  it("stops only its own turn when turns of several runs share a bound", async () => {
    useTimeLimitMechanism(mechanism);
    const make = (seed: string) => createSandbox({ seed, timeLimitMs: 200 });
    const [before, looping, after] = [make("before"), make("looping"), make("after")];
    const code = (sb: Sandbox, source: string) => sb.evaluate(source) as () => unknown;
    const [two, loop, four] = [
      code(before, "() => 1 + 1"),
      code(looping, "() => { while (true) {} }"),
      code(after, "() => 2 + 2"),
    ];
    const results = await Promise.allSettled([before.turn(two), looping.turn(loop), after.turn(four)]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(WorkflowTimeoutError);
    expect((results[2] as PromiseFulfilledResult<unknown>).value).toBe(4);
  });

  it("does not stop other runs, nor let its leftover work run in their turns", () => {
    useTimeLimitMechanism(mechanism);
    const other = createSandbox({ seed: "other", timeLimitMs: 200 });
    other.setTime(222);
    let resolve!: (v: number) => void;
    other.global.pending = other.enter(() => new other.global.Promise<number>((r) => (resolve = r)));
    other.evaluate("globalThis.done = globalThis.pending.then((v) => v + 1)");
    const looping = createSandbox({ seed: "loop", timeLimitMs: 200 });
    looping.setTime(111);
    // Microtasks queued before the loop: the turn is stopped before they run.
    expect(() =>
      looping.evaluate("Promise.resolve().then(() => { globalThis.ranAt = Date.now(); }); while (true) {}"),
    ).toThrow(WorkflowTimeoutError);
    other.enter(() => resolve(41));
    expect(settledIn(other, other.global.done)).toEqual({ ok: true, value: 42 });
    // If the leftover microtask ran at all, it ran as the looping run's (its clock), never in the other's turn.
    expect([undefined, 111]).toContain(looping.global.ranAt);
    expect(other.global.ranAt).toBeUndefined();
  });
});
