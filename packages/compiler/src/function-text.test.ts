import { describe, expect, it } from "vitest";
import { findParamList, memberAccess } from "./function-text.js";

describe("findParamList", () => {
  it("matches the parameter parentheses, skipping strings, comments and nested brackets", () => {
    const code = 'async function f(a = ")", /* ( */ { b }: { b: (x: number) => void }) {}';
    const list = findParamList(code, 0, code.lastIndexOf("{"));
    expect(list).not.toBeNull();
    expect(code.slice(list!.open + 1, list!.close)).toBe(
      'a = ")", /* ( */ { b }: { b: (x: number) => void }',
    );
  });
  it("returns null for an arrow whose single parameter has no parentheses", () => {
    const code = "async x => { return x; }";
    expect(findParamList(code, 0, code.indexOf("{"))).toBeNull();
  });
});

describe("memberAccess", () => {
  it("uses bracket syntax for keys that are not identifiers", () => {
    expect(memberAccess("C", "run")).toBe("C.run");
    expect(memberAccess("C.prototype", "do it")).toBe('C.prototype["do it"]');
  });
});
