import { describe, expect, it } from "vitest";
import { functionTextFinder } from "./function-source.js";

describe("functionTextFinder", () => {
  it("finds functions in a file whose syntax tree is thousands of levels deep", () => {
    // A 6,000-term expression is a 6,000-deep tree; the recursive walk this replaced overflowed on it.
    const step = `async function s(x) {\n  "use step";\n  return x${" + x".repeat(6000)};\n}`;
    const source = `${step}\nexport async function w() {\n  "use workflow";\n  return s(1);\n}\n`;
    const textAt = functionTextFinder(source, "/app/src/flow.js");
    expect(textAt({ line: 1, column: 0 })).toBe(step);
    expect(textAt({ line: 5, column: 7 })).toMatch(/^async function w\(\) \{/);
  });
});
