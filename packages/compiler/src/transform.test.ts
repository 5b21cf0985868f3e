import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { decode } from "@jridgewell/sourcemap-codec";
import { afterAll, describe, expect, it } from "vitest";
import { NESTING_LIMIT, transform } from "./index.js";
import type { TransformMode } from "./types.js";

const opts = { filename: "/app/src/flow.ts", projectRoot: "/app" } as const;

/** Original (1-based) line the first mapping of each generated line points at. */
function originalLineOf(map: { mappings: string }, generatedLine: number): number | undefined {
  const segment = decode(map.mappings)[generatedLine - 1]?.[0];
  return segment && segment.length >= 4 ? segment[2]! + 1 : undefined;
}

/** Original 1-based `line:column` of a 1-based generated position: that of the segment covering it, as a
 *  source-map consumer reports it (no guessing past the segment's start). */
function originalPositionOf(map: { mappings: string }, line: number, column: number): string | undefined {
  const covering = (decode(map.mappings)[line - 1] ?? []).filter((seg) => seg[0] <= column - 1).at(-1);
  if (!covering || covering.length < 4) return undefined;
  return `${covering[2]! + 1}:${covering[3]! + 1}`;
}

describe("transform", () => {
  it("returns a file without either directive unchanged, without parsing it", () => {
    const source = "export const broken = = 1; // not even valid";
    const result = transform(source, { ...opts, mode: "workflow" });
    expect(result).toEqual({ code: source, map: null, workflows: [], steps: [], diagnostics: [] });
  });

  it("accepts WDK's `globalThis.fetch = fetch` in a workflow, and still refuses reading the host's fetch", () => {
    const assign =
      'import { fetch } from "workflow";\nexport async function w() {\n  "use workflow";\n  globalThis.fetch = fetch;\n}';
    expect(transform(assign, { ...opts, mode: "workflow" }).diagnostics).toEqual([]);
    const read =
      'export async function w() {\n  "use workflow";\n  const f = globalThis.fetch;\n  globalThis.fetch = f;\n}';
    expect(transform(read, { ...opts, mode: "workflow" }).diagnostics.map((d) => d.code)).toEqual([
      "FETCH_IN_WORKFLOW",
    ]);
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
        id: "workflow//src/flow.ts//w",
        loc: { line: 1, column: source.indexOf("async function w") },
      },
    ]);
  });

  it("keeps TypeScript in the output and only changes directive-related code", () => {
    const source =
      'export async function w(id: string): Promise<string> {\n  "use workflow";\n  return id as string;\n}\n';
    const { code } = transform(source, { ...opts, mode: "workflow" });
    expect(code.startsWith(source.trimEnd())).toBe(true);
    expect(code).toContain('w.workflowId = "workflow//src/flow.ts//w";');
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
    // Columns too: stacks name the column of a throw or call, not the start of its line.
    const column = lines[moved - 1]!.indexOf("b * 2") + 1;
    expect(originalPositionOf(result.map!, moved, column)).toBe("6:12");
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
    expect(code).toContain('useStep")]("step//src/flow.ts//w/s", () => ({ b }))(...args)');
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
    expect(steps.map((s) => s.id)).toEqual(["step//src/flow.ts//w/run", "step//src/flow.ts//w/run$2"]);
  });
});

describe("deeply nested code", () => {
  const modes: TransformMode[] = ["workflow", "step", "client"];
  const rep = (text: string, n: number) => text.repeat(n);
  const dir = mkdtempSync(path.join(tmpdir(), "wfkit-deep-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("refuses code nested too deeply for swc with NESTING_TOO_DEEP at the place, in every mode", () => {
    // 3,000 parentheses made swc overflow its native stack: a SIGSEGV that killed the process.
    const source = `export async function w(x) {\n  "use workflow";\n  return ${rep("(", 3000)}x${rep(")", 3000)};\n}\n`;
    for (const mode of modes) {
      const result = transform(source, { ...opts, filename: "/app/src/flow.js", mode });
      expect(result.code).toBe(source);
      expect(result.diagnostics).toHaveLength(1);
      expect(result.diagnostics[0]).toMatchObject({
        code: "NESTING_TOO_DEEP",
        line: 3,
        column: "  return ".length + NESTING_LIMIT - 2,
      });
      expect(result.diagnostics[0]!.message).toContain(`more than ${NESTING_LIMIT} levels deep`);
    }
  });

  it("reports arrays nested 1,500 deep as too deep, not as an internal error", () => {
    // They used to overflow the JavaScript stack in the analysis: INTERNAL_ERROR.
    const source = `export async function s() {\n  "use step";\n  return ${rep("[", 1500)}1${rep("]", 1500)};\n}\n`;
    const codes = modes.map((mode) => transform(source, { ...opts, mode }).diagnostics.map((d) => d.code));
    expect(codes).toEqual([["NESTING_TOO_DEEP"], ["NESTING_TOO_DEEP"], ["NESTING_TOO_DEEP"]]);
  });

  it("analyses a 6,000-term expression (a 6,000-deep syntax tree) without overflowing", () => {
    // The recursive walk this replaced gave INTERNAL_ERROR here.
    const source = `export async function w(x) {\n  "use workflow";\n  return x${rep(" + x", 6000)};\n}\n`;
    for (const mode of modes) {
      const result = transform(source, { ...opts, filename: "/app/src/flow.js", mode });
      expect(result.diagnostics).toEqual([]);
      expect(result.workflows.map((w) => w.name)).toEqual(["w"]);
    }
  });

  it("compiles code nested just under the limit correctly in every mode, and the output runs", async () => {
    const depth = NESTING_LIMIT - 10;
    const source = [
      "export async function wrap(v) {",
      '  "use step";',
      `  return ${rep("[", depth)}v${rep("]", depth)};`,
      "}",
      "export async function deep(x) {",
      '  "use workflow";',
      `  return wrap(${rep("(", depth)}x + 1${rep(")", depth)});`,
      "}",
      "",
    ].join("\n");
    const load = async (mode: TransformMode) => {
      const result = transform(source, { ...opts, filename: `/app/src/deep.js`, mode });
      expect(result.diagnostics, mode).toEqual([]);
      expect(result.steps.map((s) => s.name)).toEqual(["wrap"]);
      const file = path.join(dir, `${mode}.mjs`);
      writeFileSync(file, result.code);
      return import(pathToFileURL(file).href);
    };
    const innermost = (value: unknown) => {
      let levels = 0;
      while (Array.isArray(value)) {
        value = value[0];
        levels++;
      }
      return { levels, value };
    };

    // Step mode registers the step body under its ID.
    await load("step");
    const g = globalThis as Record<symbol, unknown>;
    const registered = (g[Symbol.for("wfkit.steps")] as Map<string, (v: number) => Promise<unknown>>).get(
      "step//src/deep.js//wrap",
    )!;
    expect(innermost(await registered(7))).toEqual({ levels: depth, value: 7 });

    // Workflow mode runs the workflow body, calling the step through the runtime's proxy.
    g[Symbol.for("wfkit.useStep")] = (id: string) => (v: number) =>
      (g[Symbol.for("wfkit.steps")] as Map<string, (v: number) => Promise<unknown>>).get(id)!(v);
    try {
      const workflow = await load("workflow");
      expect(innermost(await workflow.deep(4))).toEqual({ levels: depth, value: 5 });
    } finally {
      delete g[Symbol.for("wfkit.useStep")];
    }

    // Client mode keeps the step callable and the workflow only startable.
    const client = await load("client");
    expect(innermost(await client.wrap(1))).toEqual({ levels: depth, value: 1 });
    await expect(client.deep(1)).rejects.toThrow(/start\(deep/);
  });
});

describe("top-level await in a directive file", () => {
  const modes: TransformMode[] = ["workflow", "step", "client"];
  it("is a compile-time error with the fix, in every mode, when the statement stays in the workflow bundle", () => {
    const source = [
      'import { setup } from "./setup.js";',
      "const config = await setup();",
      "export async function w() {",
      '  "use workflow";',
      "  return config.name;",
      "}",
      "",
    ].join("\n");
    for (const mode of modes) {
      const { diagnostics } = transform(source, { ...opts, mode });
      expect(diagnostics, mode).toMatchObject([
        {
          code: "TOP_LEVEL_AWAIT_IN_WORKFLOW_BUNDLE",
          severity: "error",
          line: 2,
          column: 15,
          hint: expect.stringContaining('"use step"'),
        },
      ]);
    }
  });

  it("is fine when only step bodies read the awaited value (pruned from the workflow shape)", () => {
    const source = [
      'import { connect } from "./db.js";',
      "const db = await connect();",
      "for await (const _ of []) {}",
      "export async function load(id: string) {",
      '  "use step";',
      "  return db.get(id);",
      "}",
      "export async function w(id: string) {",
      '  "use workflow";',
      "  const inner = async () => { await 1; };",
      "  await inner();",
      "  return load(id);",
      "}",
    ].join("\n");
    const result = transform(source, { ...opts, mode: "workflow" });
    // `for await` at top level stays (it declares nothing), so only it is reported
    expect(result.diagnostics.map((d) => [d.code, d.line])).toEqual([
      ["TOP_LEVEL_AWAIT_IN_WORKFLOW_BUNDLE", 3],
    ]);
    const withoutLoop = source.replace("for await (const _ of []) {}", "");
    const clean = transform(withoutLoop, { ...opts, mode: "workflow" });
    expect(clean.diagnostics).toEqual([]);
    expect(clean.code).not.toContain("await connect()");
  });

  it("is not reported in a file without directives", () => {
    expect(
      transform("export const x = await fetch('x');", { ...opts, mode: "workflow" }).diagnostics,
    ).toEqual([]);
  });
});
