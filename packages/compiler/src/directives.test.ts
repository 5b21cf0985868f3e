import { describe, expect, it } from "vitest";
import { mayContainDirective, misspelledDirective, withinOneEdit } from "./directives.js";

describe("withinOneEdit", () => {
  it.each([
    ["use step", "use step", true],
    ["use stp", "use step", true],
    ["use steps", "use step", true],
    ["use stpe", "use step", true],
    ["Use step", "use step", true],
    ["us stpe", "use step", false],
    ["use workflow", "use step", false],
  ])("%s vs %s → %s", (a, b, expected) => {
    expect(withinOneEdit(a, b)).toBe(expected);
  });
});

describe("misspelledDirective", () => {
  it("names the directive a typo was meant to be", () => {
    expect(misspelledDirective("use workfow")).toBe("use workflow");
    expect(misspelledDirective("usestep")).toBe("use step");
  });
  it("ignores exact directives and unrelated strings", () => {
    expect(misspelledDirective("use step")).toBeNull();
    expect(misspelledDirective("use strict")).toBeNull();
  });
});

describe("mayContainDirective (pre-parse filter)", () => {
  it("accepts directives and one-edit typos in either quote style", () => {
    expect(mayContainDirective('async function f() { "use step"; }')).toBe(true);
    expect(mayContainDirective("async function f() { 'use workflw'; }")).toBe(true);
    expect(mayContainDirective("async function f() { 'ise step'; }")).toBe(true);
    expect(mayContainDirective('async function f() { "use-workflow"; }')).toBe(true);
  });
  it("rejects ordinary code that merely mentions the words", () => {
    expect(mayContainDirective("const user = useState(); const step = 1; // workflow")).toBe(false);
    expect(mayContainDirective('"use strict"; export const steps = ["a"];')).toBe(false);
  });
});
