import { parseSync } from "@swc/core";
import { describe, expect, it } from "vitest";
import { SourceText } from "./source-text.js";

describe("SourceText", () => {
  it("maps swc's 1-based UTF-8 byte offsets to string indices in non-ASCII text", () => {
    const code = 'const s = "é你🌍"; let target = 1;';
    const module = parseSync(code, { syntax: "typescript" });
    const decl = module.body[1] as any;
    const text = new SourceText(code);
    expect(text.ascii).toBe(false);
    const start = text.index(decl.span.start);
    expect(code.slice(start, text.index(decl.span.end))).toBe("let target = 1;");
  });
  it("gives 1-based lines and 0-based columns", () => {
    const text = new SourceText("a\nbc\n\nd");
    expect(text.location(0)).toEqual({ line: 1, column: 0 });
    expect(text.location(3)).toEqual({ line: 2, column: 1 });
    expect(text.location(6)).toEqual({ line: 4, column: 0 });
  });
});

describe("SourceText with a byte-order mark", () => {
  it("skips the BOM like swc does", () => {
    const code = '\uFEFFconst a = 1; let b = "x";';
    const decl = parseSync(code, { syntax: "typescript" }).body[1] as any;
    const text = new SourceText(code);
    expect(code.slice(text.index(decl.span.start), text.index(decl.span.end))).toBe('let b = "x";');
  });
});
