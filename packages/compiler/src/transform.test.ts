import { decode } from "@jridgewell/sourcemap-codec";
import { describe, expect, it } from "vitest";
import { transform } from "./index.js";

const opts = { filename: "/app/src/flow.ts", projectRoot: "/app" } as const;

/** Original (1-based) line the first mapping of each generated line points at. */
function originalLineOf(map: { mappings: string }, generatedLine: number): number | undefined {
  const segment = decode(map.mappings)[generatedLine - 1]?.[0];
  return segment && segment.length >= 4 ? segment[2]! + 1 : undefined;
}

describe("transform", () => {
  it("returns a file without either directive unchanged, without parsing it", () => {
    const source = "export const broken = = 1; // not even valid";
    const result = transform(source, { ...opts, mode: "workflow" });
    expect(result).toEqual({ code: source, map: null, workflows: [], steps: [], diagnostics: [] });
  });

  it("reports a syntax error as a diagnostic instead of throwing", () => {
    const result = transform('export async function f() {\n  "use workflow";\n  let = ;\n}', {
      ...opts,
      mode: "step",
    });
    expect(result.diagnostics).toHaveLength(1);
    expect(result.diagnostics[0]).toMatchObject({
      code: "SYNTAX_ERROR",
      severity: "error",
      file: opts.filename,
      line: 3,
    });
  });

  it("rejects an unknown mode with a message naming the valid ones", () => {
    expect(() => transform('"use step"', { ...opts, mode: "server" as never })).toThrow(
      /"workflow", "step" or "client"/,
    );
  });

  it("reports locations in UTF-16 columns of the original text, also after non-ASCII characters", () => {
    const source = 'const s = "é🌍"; export async function w() { "use workflow"; return s; }';
    const { workflows } = transform(source, { ...opts, mode: "workflow" });
    expect(workflows).toEqual([
      {
        name: "w",
        id: "workflow//./src/flow//w",
        loc: { line: 1, column: source.indexOf("async function w") },
      },
    ]);
  });

  it("keeps TypeScript in the output and only changes directive-related code", () => {
    const source =
      'export async function w(id: string): Promise<string> {\n  "use workflow";\n  return id as string;\n}\n';
    const { code } = transform(source, { ...opts, mode: "workflow" });
    expect(code.startsWith(source.trimEnd())).toBe(true);
    expect(code).toContain('w.workflowId = "workflow//./src/flow//w";');
  });

  it("produces a v3 source map whose lines point at the original lines, and none when disabled", () => {
    const source = [
      "export async function w(a: number) {", // 1
      '  "use workflow";', // 2
      "  const b = a + 1;", // 3
      "  const s = async () => {", // 4
      '    "use step";', // 5
      "    return b * 2;", // 6
      "  };", // 7
      "  return s();", // 8
      "}", // 9
    ].join("\n");
    const result = transform(source, { ...opts, mode: "step" });
    expect(result.map).toMatchObject({ version: 3, sources: [opts.filename], sourcesContent: [source] });
    const lines = result.code.split("\n");
    const moved = lines.findIndex((l) => l.includes("return b * 2")) + 1;
    expect(moved).toBeGreaterThan(lines.findIndex((l) => l.includes("w.workflowId")) + 1); // hoisted below…
    expect(originalLineOf(result.map!, moved)).toBe(6); // …but still mapped to its original line
    expect(transform(source, { ...opts, mode: "step", sourceMaps: false }).map).toBeNull();
  });

  it("passes exactly the workflow variables a nested step reads, not module names or its own locals", () => {
    const source = [
      'import { helper } from "./h";',
      "export async function w(a: number, unused: number) {",
      '  "use workflow";',
      "  const b = 2;",
      "  const s = async (a: number) => {",
      '    "use step";',
      "    const local = helper(a);",
      "    return local + b;",
      "  };",
      "  return s(a);",
      "}",
    ].join("\n");
    const { code } = transform(source, { ...opts, mode: "workflow" });
    expect(code).toContain('useStep")]("step//./src/flow//w/s", () => ({ b }))(...args)');
    expect(code).not.toContain("import { helper }");
  });

  it("gives same-named nested steps distinct IDs", () => {
    const source = [
      "export async function w() {",
      '  "use workflow";',
      '  const a = { run: async () => { "use step"; return 1; } };',
      '  const b = { run: async () => { "use step"; return 2; } };',
      "  return (await a.run()) + (await b.run());",
      "}",
    ].join("\n");
    const { steps } = transform(source, { ...opts, mode: "step" });
    expect(steps.map((s) => s.id)).toEqual(["step//./src/flow//w/run", "step//./src/flow//w/run$2"]);
  });
});
