import { describe, expect, it, vi } from "vitest";
import { USE_STEP_KEY, WORKFLOWS_KEY } from "../sandbox/abi.js";
import { FatalError } from "../sandbox/errors.js";
import { deserialize, deserializeError, serialize, serializeError } from "../serialization/index.js";
import { settledIn } from "./__tests__/settled.js";
import { compileWorkflowBundle } from "./bundle.js";
import { createSandbox } from "./sandbox.js";

const evalIn = (sb: ReturnType<typeof createSandbox>, code: string): any => sb.evaluate(code);

describe("createSandbox", () => {
  it("seeds Math.random, getRandomValues and randomUUID from the seed", () => {
    const draw = (seed: string) =>
      evalIn(
        createSandbox({ seed }),
        `[Math.random(), Math.random(), crypto.randomUUID(), Array.from(crypto.getRandomValues(new Uint8Array(7)))]`,
      );
    const a = draw("run_1");
    expect(draw("run_1")).toEqual(a);
    expect(draw("run_2")).not.toEqual(a);
    expect(a[0]).toBeGreaterThanOrEqual(0);
    expect(a[0]).toBeLessThan(1);
    expect(a[2]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a[3]).toHaveLength(7);
  });

  it("keeps Math.random independent of crypto calls", () => {
    const sb1 = createSandbox({ seed: "s" });
    const sb2 = createSandbox({ seed: "s" });
    evalIn(sb2, "crypto.randomUUID()");
    expect(evalIn(sb1, "Math.random()")).toBe(evalIn(sb2, "Math.random()"));
  });

  it("Math.random looks uniform", () => {
    const mean = evalIn(
      createSandbox({ seed: "u" }),
      "let s = 0; for (let i = 0; i < 20000; i++) s += Math.random(); s / 20000",
    );
    expect(mean).toBeGreaterThan(0.49);
    expect(mean).toBeLessThan(0.51);
  });

  it("getRandomValues validates like the web API and fills in place", () => {
    const sb = createSandbox({ seed: "v" });
    expect(() => evalIn(sb, "crypto.getRandomValues(new Float64Array(2))")).toThrow(/integer typed array/);
    expect(() => evalIn(sb, "crypto.getRandomValues(new Uint8Array(65537))")).toThrow(/65536/);
    expect(
      evalIn(sb, "const a = new Uint32Array(4); crypto.getRandomValues(a) === a && a.some((x) => x !== 0)"),
    ).toBe(true);
  });

  it("Date reads the sandbox clock and otherwise behaves natively", () => {
    const sb = createSandbox({ seed: "d" });
    sb.setTime(Date.UTC(2024, 0, 2, 3, 4, 5));
    expect(evalIn(sb, "Date.now()")).toBe(Date.UTC(2024, 0, 2, 3, 4, 5));
    expect(evalIn(sb, "new Date().toISOString()")).toBe("2024-01-02T03:04:05.000Z");
    expect(evalIn(sb, "new Date(0).getTime()")).toBe(0);
    expect(evalIn(sb, "new Date(2020, 1, 3, 4).getFullYear()")).toBe(2020);
    expect(evalIn(sb, "Date.UTC(2000, 0)")).toBe(Date.UTC(2000, 0));
    expect(evalIn(sb, "Date.parse('2001-01-01T00:00:00Z')")).toBe(Date.parse("2001-01-01T00:00:00Z"));
    expect(evalIn(sb, "typeof Date()")).toBe("string");
    expect(
      evalIn(
        sb,
        "new Date() instanceof Date && Object.prototype.toString.call(new Date()) === '[object Date]'",
      ),
    ).toBe(true);
    expect(evalIn(sb, "Date.length === 7 && Date.name === 'Date' && globalThis.Date === Date")).toBe(true);
    expect(
      evalIn(
        sb,
        "class D extends Date {}; const d = new D(); d instanceof Date && d.getTime() === Date.now()",
      ),
    ).toBe(true);
    sb.setTime(5);
    expect(evalIn(sb, "Date.now()")).toBe(5);
    expect(() => sb.setTime(Number.NaN)).toThrow(/finite/);
  });

  it("timers, fetch and require throw an error naming the fix", () => {
    const sb = createSandbox({ seed: "t" });
    expect(() => evalIn(sb, "setTimeout(() => {}, 10)")).toThrow(
      /"setTimeout" and "setInterval" are not supported in workflow functions\. Use the "sleep" function/,
    );
    expect(() => evalIn(sb, "setInterval(() => {}, 10)")).toThrow(/sleep/);
    expect(() => evalIn(sb, "fetch('https://example.com')")).toThrow(/import \{ fetch \} from "workflow"/);
    expect(() => evalIn(sb, "require('fs')")).toThrow(/"use step"/);
    // The thrown error belongs to the sandbox realm, so workflow code can catch it as an Error.
    expect(evalIn(sb, "try { setImmediate(() => {}) } catch (e) { e instanceof Error && e.code }")).toBe(
      "WORKFLOW_UNSUPPORTED_GLOBAL",
    );
  });

  it("exposes only a frozen copy of env on process", () => {
    const env = { A: "1", B: undefined };
    const sb = createSandbox({ seed: "e", env });
    expect(evalIn(sb, "Object.keys(process)")).toEqual(["env"]);
    expect(evalIn(sb, "process.env.A")).toBe("1");
    expect(evalIn(sb, "'B' in process.env")).toBe(false);
    expect(() => evalIn(sb, "'use strict'; process.env.A = '2'")).toThrow(/read only/);
    env.A = "changed";
    expect(evalIn(sb, "process.env.A")).toBe("1");
    // The frozen copy is shared by sandboxes given the same object (copying process.env per run is costly).
    expect(createSandbox({ seed: "e2", env }).global.process).toBe(sb.global.process);
    expect(evalIn(createSandbox({ seed: "e3", env: { ...env } }), "process.env.A")).toBe("changed");
    expect(evalIn(createSandbox({ seed: "e4" }), "Object.keys(process.env).length")).toBe(0);
  });

  it("provides deterministic web globals built in the sandbox realm", () => {
    const sb = createSandbox({ seed: "w" });
    expect(evalIn(sb, "new TextEncoder().encode('hé') instanceof Uint8Array")).toBe(true);
    expect(evalIn(sb, "new TextDecoder().decode(new TextEncoder().encode('hé'))")).toBe("hé");
    expect(evalIn(sb, "new URL('/a?b=1', 'https://x.test').searchParams.get('b')")).toBe("1");
    expect(evalIn(sb, "new URLSearchParams('a=1&a=2').getAll('a').length")).toBe(2);
    expect(evalIn(sb, "atob(btoa('hi'))")).toBe("hi");
    expect(
      evalIn(
        sb,
        "const c = structuredClone({ d: new Date(1), m: new Map([[1, 2]]) }); c.d instanceof Date && c.m instanceof Map",
      ),
    ).toBe(true);
  });

  it("forwards console and reports queueMicrotask errors", async () => {
    const log = vi.fn();
    const onMicrotaskError = vi.fn();
    const sb = createSandbox({ seed: "c", console: { log } as Partial<Console>, onMicrotaskError });
    evalIn(sb, "console.log('hello', 1); queueMicrotask(() => { throw new Error('in microtask') })");
    expect(log).toHaveBeenCalledWith("hello", 1);
    await Promise.resolve();
    await Promise.resolve();
    expect(onMicrotaskError).toHaveBeenCalledOnce();
    expect(String(onMicrotaskError.mock.calls[0]![0])).toContain("in microtask");
  });

  it("installs extra globals (string and symbol keys) before code runs and finds registered workflows", () => {
    const holder: { sb?: ReturnType<typeof createSandbox> } = {};
    // A host function becomes a realm function; what it returns must be a value of the realm.
    const useStep = () => holder.sb!.kit.guard(() => holder.sb!.global.Promise.resolve(42));
    const sb = createSandbox({ seed: "g", globals: { [USE_STEP_KEY]: useStep, answer: 42 } });
    holder.sb = sb;
    sb.run(
      compileWorkflowBundle(
        `
        const step = globalThis[Symbol.for("wfkit.useStep")]("step//./a//s");
        async function wf(x) { return (await step()) + x + globalThis.answer; }
        (globalThis[Symbol.for("wfkit.workflows")] ??= new Map()).set("workflow//./a//wf", wf);
      `,
        { filename: "/virtual/extra-globals.js" },
      ),
    );
    expect(sb.getWorkflow("workflow//./a//wf")).toBeTypeOf("function");
    expect(sb.getWorkflow("workflow//./a//missing")).toBeUndefined();
    expect(sb.global[WORKFLOWS_KEY]).toBeDefined();
    expect(evalIn(sb, `globalThis[Symbol.for("wfkit.useStep")].constructor === Function`)).toBe(true);
    // A host function that hands workflow code a host object is an internal error, reported as such.
    const leaky = createSandbox({ seed: "g2", globals: { leak: () => ({}) } });
    expect(() => evalIn(leaky, "globalThis.leak()")).toThrow(/returned an object of the host realm/);
  });

  it("runs workflow code only in turns: a promise settled in a turn drives its continuations there", () => {
    const sb = createSandbox({ seed: "p" });
    let resolveStep!: (v: number) => void;
    sb.global.step = sb.enter(
      () =>
        new sb.global.Promise<number>((r) => {
          resolveStep = r;
        }),
    );
    const result = evalIn(
      sb,
      "globalThis.seen = []; (async () => { const a = await globalThis.step; globalThis.seen.push(a); const b = await Promise.resolve(a + 1); globalThis.seen.push(b); return b * 2 })()",
    );
    expect(evalIn(sb, "globalThis.seen")).toEqual([]);
    sb.enter(() => resolveStep(5));
    // The whole continuation ran within that turn.
    expect(evalIn(sb, "globalThis.seen")).toEqual([5, 6]);
    expect(settledIn(sb, result)).toEqual({ ok: true, value: 12 });
  });

  it("isolates runs from each other", () => {
    const a = createSandbox({ seed: "x" });
    const b = createSandbox({ seed: "x" });
    evalIn(a, "globalThis.leak = 1");
    expect(evalIn(a, "globalThis.leak")).toBe(1);
    expect(evalIn(b, "globalThis.leak")).toBeUndefined();
    // Built-ins are shared and frozen: patching one fails instead of reaching the other run.
    expect(() => evalIn(a, "Array.prototype.polluted = true")).toThrow(/not extensible/);
    expect(() => evalIn(a, "Object.prototype.toString = () => 'x'")).toThrow(/read only/);
    expect(evalIn(b, "[].polluted")).toBeUndefined();
    // One Date and one Math serve every run, each reading the clock and randomness of the run whose code runs.
    a.setTime(1000);
    b.setTime(2000);
    expect([evalIn(a, "Date.now()"), evalIn(b, "Date.now()")]).toEqual([1000, 2000]);
    expect(evalIn(a, "Math.random()")).toBe(evalIn(b, "Math.random()"));
  });

  it("receives deserialized values built from its own realm, and they serialize back", () => {
    const sb = createSandbox({ seed: "r" });
    sb.global.input = deserialize(serialize([{ at: new Date(7), tags: new Set(["a"]) }]), {
      realm: sb.global,
    });
    sb.global.failure = deserializeError(serializeError(new FatalError("stop")), { realm: sb.global });
    expect(
      evalIn(
        sb,
        `const { input, failure } = globalThis;
         input instanceof Array && input[0] instanceof Object && input[0].at instanceof Date &&
         input[0].at.getTime() === 7 && input[0].tags instanceof Set && failure instanceof Error &&
         failure.name === "FatalError"`,
      ),
    ).toBe(true);
    const out = evalIn(sb, "({ when: new Date(), list: [1, 2], err: new RangeError('r') })");
    const back = deserialize(serialize(out)) as { when: Date; list: number[]; err: Error };
    expect(back.when).toBeInstanceOf(Date);
    expect(back.err).toBeInstanceOf(RangeError);
    expect(back.list).toEqual([1, 2]);
  });

  it("rejects a missing seed", () => {
    expect(() => createSandbox({} as never)).toThrow(/seed/);
  });
});
