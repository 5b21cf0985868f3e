import { describe, expect, it } from "vitest";
import { fileOfId, isTransformable, mentionsDirective } from "./directive-filter.js";

describe("directive filter", () => {
  it("strips queries and refuses virtual or relative IDs", () => {
    expect(fileOfId("/app/src/a.ts?v=12")).toBe("/app/src/a.ts");
    expect(fileOfId("\0virtual:x")).toBeUndefined();
    expect(fileOfId("virtual:x")).toBeUndefined();
    expect(fileOfId("src/a.ts")).toBeUndefined();
  });

  it("transforms project scripts only, never the build output or declarations", () => {
    const out = "/app/.workflow";
    expect(isTransformable("/app/src/a.ts", out)).toBe(true);
    expect(isTransformable("/app/src/a.mjs?x", out)).toBe(true);
    expect(isTransformable("/app/src/a.css", out)).toBe(false);
    expect(isTransformable("/app/src/a.d.ts", out)).toBe(false);
    expect(isTransformable("/app/.workflow/server-entry.mjs", out)).toBe(false);
  });

  it("looks for either directive string", () => {
    expect(mentionsDirective('"use step"')).toBe(true);
    expect(mentionsDirective("'use workflow'")).toBe(true);
    expect(mentionsDirective("export const a = 1;")).toBe(false);
  });

  it("also lets through a quoted near miss, so the compiler can report the typo", () => {
    expect(mentionsDirective('async function f() { "use workfow"; }')).toBe(true);
    expect(mentionsDirective("async function f() { 'use stpe'; }")).toBe(true);
    expect(mentionsDirective('const useState = 1; "use client";')).toBe(false);
  });
});
