import { describe, expect, it } from "vitest";
import { analyze, type ImportInfo } from "./analyze.js";
import { parse } from "./parse.js";
import { computePruning } from "./prune.js";
import { SourceText } from "./source-text.js";

describe("computePruning", () => {
  it("reads each import a bounded number of times, however many statements the file has", () => {
    // Every top-level statement used to search the import list: quadratic in the file size.
    const n = 300;
    const source = [
      ...Array.from({ length: n }, (_, i) => `import { v${i} } from "./m${i}";`),
      ...Array.from({ length: n }, (_, i) => `function h${i}() { return v${i}; }`),
      `export async function s() {\n  "use step";\n  return [${Array.from({ length: n }, (_, i) => `h${i}()`).join(", ")}];\n}`,
    ].join("\n");
    const parsed = parse(source, "/app/src/flow.js");
    if (!parsed.ok) throw new Error(parsed.message);
    const text = new SourceText(source);
    const analysis = analyze(parsed.module, text, "/app/src/flow.js", "./src/flow");
    let reads = 0;
    const imports = new Proxy(analysis.imports, {
      get(target, key, receiver) {
        if (typeof key === "string" && /^\d+$/.test(key)) reads++;
        return Reflect.get(target, key, receiver) as ImportInfo;
      },
    });
    const pruning = computePruning({ ...analysis, imports }, text, "/app/src/flow.js");
    expect(pruning.removedStatements.size).toBe(n); // the helpers only the step uses
    expect(pruning.removedSpecifiers.size).toBe(n); // and their imports
    expect(reads).toBeLessThanOrEqual(3 * n);
  });
});
