import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as vm from "node:vm";
import { afterEach, describe, expect, it } from "vitest";
import { compileWorkflowBundle } from "./bundle.js";
import { createSandbox } from "./sandbox.js";
import { mapStack, unregisterSourceMap } from "./source-maps.js";

// A two-line bundle whose line 2 comes from src/order.ts line 12, column 5 (VLQ ";AAWI": generated column 0 →
// source 0, original line 11, column 4, zero-based).
const MAP = { version: 3, sources: ["../src/order.ts"], names: [], mappings: ";AAWI" };
const BODY = `(globalThis[Symbol.for("wfkit.workflows")] ??= new Map()).set("w", function w() {
throw new Error("boom") });`;
const inline = `\n//# sourceMappingURL=data:application/json;base64,${Buffer.from(JSON.stringify(MAP)).toString("base64")}`;

let n = 0;
const uniqueFile = () => `/proj/.workflow/bundle-${++n}.js`;

afterEach(() => {
  for (let i = 1; i <= n; i++) unregisterSourceMap(`/proj/.workflow/bundle-${i}.js`);
});

function thrownStack(script: vm.Script): string {
  const sb = createSandbox({ seed: "s" });
  sb.run(script);
  try {
    sb.getWorkflow("w")!();
  } catch (error) {
    return (error as Error).stack!;
  }
  throw new Error("expected a throw");
}

describe("source maps of workflow bundles", () => {
  it("Node 20 does not apply vm.Script source maps by itself (why this module exists)", () => {
    const filename = uniqueFile();
    const ctx = vm.createContext({});
    let stack = "";
    try {
      new vm.Script(`\nthrow new Error("x")${inline}`, { filename }).runInContext(ctx);
    } catch (error) {
      stack = (error as Error).stack ?? "";
    }
    expect(stack).toContain(`${filename}:2:`);
  });

  it("stacks of errors thrown in workflow code point at the original file and line (inline map)", () => {
    const filename = uniqueFile();
    const stack = thrownStack(compileWorkflowBundle(BODY + inline, { filename }));
    expect(stack).toMatch(/^Error: boom\n {4}at w \(\/proj\/src\/order\.ts:12:5\)/);
  });

  it("uses an explicit source map (string or object)", () => {
    const filename = uniqueFile();
    const stack = thrownStack(compileWorkflowBundle(BODY, { filename, sourceMap: JSON.stringify(MAP) }));
    expect(stack).toContain("(/proj/src/order.ts:12:5)");
  });

  it("reads a sourceMappingURL file next to the bundle", () => {
    const dir = mkdtempSync(join(tmpdir(), "wfkit-map-"));
    try {
      const filename = join(dir, "bundle.js");
      writeFileSync(`${filename}.map`, JSON.stringify({ ...MAP, sources: ["src/order.ts"] }));
      const stack = thrownStack(
        compileWorkflowBundle(`${BODY}\n//# sourceMappingURL=bundle.js.map`, { filename }),
      );
      expect(stack).toContain(`(${join(dir, "src/order.ts")}:12:5)`);
      unregisterSourceMap(filename);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("leaves frames without a map untouched", () => {
    const filename = uniqueFile();
    const stack = thrownStack(compileWorkflowBundle(BODY, { filename }));
    expect(stack).toContain(`(${filename}:2:7)`);
  });

  it("mapStack maps stack strings and is idempotent", () => {
    const filename = uniqueFile();
    compileWorkflowBundle(BODY + inline, { filename });
    const raw = `Error: boom\n    at w (${filename}:2:7)\n    at ${filename}:2:1\n    at other (/x/y.js:1:1)`;
    const mapped = mapStack(raw);
    expect(mapped).toBe(
      "Error: boom\n    at w (/proj/src/order.ts:12:5)\n    at /proj/src/order.ts:12:5\n    at other (/x/y.js:1:1)",
    );
    expect(mapStack(mapped)).toBe(mapped);
  });
});

describe("compileWorkflowBundle", () => {
  it("compiles once per content and filename", () => {
    const filename = uniqueFile();
    const code = `globalThis.x = ${n};`;
    const a = compileWorkflowBundle(code, { filename });
    expect(compileWorkflowBundle(code, { filename })).toBe(a);
    expect(compileWorkflowBundle(` ${code}`.slice(1), { filename })).toBe(a); // equal content, other string
    expect(compileWorkflowBundle(`${code} `, { filename })).not.toBe(a);
    expect(compileWorkflowBundle(code, { filename: uniqueFile() })).not.toBe(a);
  });

  it("rejects a missing filename", () => {
    expect(() => compileWorkflowBundle("1", {} as never)).toThrow(/filename is required/);
  });
});
