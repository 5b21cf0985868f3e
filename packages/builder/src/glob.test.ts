import { describe, expect, it } from "vitest";
import { globMatcher, globToRegExp } from "./glob.js";

describe("globToRegExp", () => {
  it("matches ** across folders and * within one name", () => {
    const r = globToRegExp("src/**/*.ts");
    expect(r.test("src/a.ts")).toBe(true);
    expect(r.test("src/deep/er/a.ts")).toBe(true);
    expect(r.test("lib/a.ts")).toBe(false);
    expect(r.test("src/a.tsx")).toBe(false);
  });

  it("treats a pattern without a slash as a name at any depth, and a folder as its contents", () => {
    const r = globToRegExp("fixtures");
    expect(r.test("fixtures")).toBe(true);
    expect(r.test("test/fixtures/a.ts")).toBe(true);
    expect(r.test("test/fixturesX/a.ts")).toBe(false);
  });

  it("supports alternatives and escapes regex characters", () => {
    const r = globToRegExp("src/*.{ts,mts}");
    expect(r.test("src/a.ts")).toBe(true);
    expect(r.test("src/a.mts")).toBe(true);
    expect(r.test("src/a.js")).toBe(false);
    expect(globToRegExp("a+b.ts").test("a+b.ts")).toBe(true);
    expect(globToRegExp("a+b.ts").test("aab.ts")).toBe(false);
  });

  it("gives no matcher for no patterns", () => {
    expect(globMatcher(undefined)).toBeUndefined();
    expect(globMatcher(["*.test.ts"])!("src/x.test.ts")).toBe(true);
  });
});
