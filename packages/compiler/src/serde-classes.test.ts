import vm from "node:vm";
import { transformSync } from "@swc/core";
import { describe, expect, it } from "vitest";
import { transform } from "./index.js";

const opts = { filename: "/app/src/point.ts", projectRoot: "/app" } as const;

const POINT = (keys: string) => `${keys}
export class Point {
  constructor(public x: number) {}
  static [S](p: Point) { return { x: p.x }; }
  static [D](d: { x: number }) { return new Point(d.x); }
}
`;

/** Runs compiled TypeScript (no imports) in a fresh context; returns that context's class registry. */
function registryAfterRunning(code: string): Map<string, unknown> {
  const js = transformSync(code, {
    jsc: { parser: { syntax: "typescript" }, target: "es2022" },
    module: { type: "commonjs" },
  }).code;
  const context = vm.createContext({ exports: {}, require: () => ({}) });
  vm.runInContext(js, context);
  return vm.runInContext('globalThis[Symbol.for("wfkit.serializableClasses")] ?? new Map()', context);
}

describe("serializable classes", () => {
  it("are registered under class//<module>//<Name> in a file with no directive, in every mode", () => {
    const source = POINT(
      'const S = Symbol.for("workflow-serialize");\nconst D = Symbol.for("workflow-deserialize");',
    );
    for (const mode of ["workflow", "step", "client"] as const) {
      const result = transform(source, { ...opts, mode });
      expect(result.classes, mode).toEqual([{ name: "Point", id: "class//src/point.ts//Point" }]);
      const registry = registryAfterRunning(result.code);
      const cls = registry.get("class//src/point.ts//Point") as Record<symbol, unknown>;
      expect(typeof cls, mode).toBe("function");
      expect(cls[Symbol.for("wfkit.classId")]).toBe("class//src/point.ts//Point");
    }
  });

  it("recognises the keys imported (also renamed) from @workflow/serde, a namespace, or Symbol.for", () => {
    const imported = POINT(
      'import { WORKFLOW_SERIALIZE as S, WORKFLOW_DESERIALIZE as D } from "@workflow/serde";',
    );
    expect(transform(imported, { ...opts, mode: "step" }).classes).toHaveLength(1);
    const namespaced = POINT('import * as serde from "workflow";')
      .replace("[S]", "[serde.WORKFLOW_SERIALIZE]")
      .replace("[D]", '[Symbol.for("workflow-deserialize")]');
    expect(transform(namespaced, { ...opts, mode: "step" }).classes).toHaveLength(1);
  });

  it("keeps an ID the class names itself (static classId) as its wire ID, and registers both", () => {
    const source = POINT(
      'const S = Symbol.for("workflow-serialize");\nconst D = Symbol.for("workflow-deserialize");',
    ).replace(
      "constructor(public x: number) {}",
      'static classId = "Point";\n  constructor(public x: number) {}',
    );
    const registry = registryAfterRunning(transform(source, { ...opts, mode: "step" }).code);
    const cls = registry.get("Point") as Record<symbol, unknown>;
    expect(registry.get("class//src/point.ts//Point")).toBe(cls);
    expect(cls[Symbol.for("wfkit.classId")]).toBe("Point");
  });

  it("leaves alone a class with only one of the two keys, and a file with none", () => {
    const half = POINT('const S = Symbol.for("workflow-serialize");').replace(
      "static [D](d: { x: number }) { return new Point(d.x); }",
      "",
    );
    const result = transform(half, { ...opts, mode: "step" });
    expect(result.classes).toBeUndefined();
    expect(result.code).toBe(half);
  });

  it("is not registered in the workflow shape when pruning removed the class (only steps use it)", () => {
    const source = `${POINT('const S = Symbol.for("workflow-serialize");\nconst D = Symbol.for("workflow-deserialize");').replace("export class", "class")}
export async function load(x: number) {
  "use step";
  return Point[S](new Point(x));
}
export async function w(x: number) {
  "use workflow";
  return load(x);
}
`;
    const workflow = transform(source, { ...opts, mode: "workflow" });
    expect(workflow.diagnostics).toEqual([]);
    expect(workflow.code).not.toContain("class Point");
    expect(workflow.classes).toBeUndefined();
    expect(transform(source, { ...opts, mode: "step" }).classes).toHaveLength(1);
  });
});
