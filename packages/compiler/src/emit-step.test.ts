import MagicString from "magic-string";
import { describe, expect, it } from "vitest";
import { type Analysis, analyze, type Unit } from "./analyze.js";
import { emitStep } from "./emit-step.js";
import { parse } from "./parse.js";
import { SourceText } from "./source-text.js";

/** `count` workflows, each with one nested step and one module-level step. */
function manyWorkflows(count: number): string {
  return Array.from(
    { length: count },
    (_, i) =>
      `export async function w${i}(x) {\n  "use workflow";\n  const s = async () => { "use step"; return x; };\n  return s();\n}\n` +
      `export async function m${i}() {\n  "use step";\n  return ${i};\n}\n`,
  ).join("");
}

/** The analysis of `source`, with its unit list counting how often its elements are read. */
function countingAnalysis(source: string): { analysis: Analysis; reads: () => number } {
  const parsed = parse(source, "/app/src/flow.js");
  if (!parsed.ok) throw new Error(parsed.message);
  const analysis = analyze(parsed.module, new SourceText(source), "/app/src/flow.js", "./src/flow");
  let reads = 0;
  const units = new Proxy(analysis.units, {
    get(target, key, receiver) {
      if (typeof key === "string" && /^\d+$/.test(key)) reads++;
      return Reflect.get(target, key, receiver) as Unit;
    },
  });
  return { analysis: { ...analysis, units }, reads: () => reads };
}

describe("emitStep", () => {
  it("reads each unit a bounded number of times, however many workflows the file has", () => {
    // Each workflow used to scan the whole unit list for its nested steps: quadratic in the file size.
    const { analysis, reads } = countingAnalysis(manyWorkflows(300));
    expect(analysis.units).toHaveLength(900);
    emitStep(new MagicString(manyWorkflows(300)), analysis);
    expect(reads()).toBeLessThanOrEqual(3 * analysis.units.length);
  });
});
