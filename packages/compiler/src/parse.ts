import { type Module, type ParseOptions, parseSync } from "@swc/core";

export type ParseOutcome =
  | { ok: true; module: Module }
  | { ok: false; message: string; line: number; column: number };

/** The language of a file by extension: TypeScript (with JSX for .tsx), else ECMAScript with JSX allowed. */
export function language(filename: string): { typescript: boolean; jsx: boolean } {
  const ext = filename.slice(filename.lastIndexOf(".")).toLowerCase();
  if (ext === ".ts" || ext === ".mts" || ext === ".cts") return { typescript: true, jsx: false };
  return { typescript: ext === ".tsx", jsx: true };
}

/** Parser settings for `language(filename)`. */
export function parserOptions(filename: string): ParseOptions {
  const { typescript, jsx } = language(filename);
  const common = { target: "es2022" as const, comments: false, script: false };
  if (typescript) return { syntax: "typescript", tsx: jsx, ...common };
  return { syntax: "ecmascript", jsx: true, ...common };
}

/** Parses to swc's AST; a syntax error becomes a value (never a throw) with the best location we can read. */
export function parse(source: string, filename: string): ParseOutcome {
  try {
    return { ok: true, module: parseSync(source, parserOptions(filename)) };
  } catch (error) {
    return { ok: false, ...readSwcError(String((error as Error)?.message ?? error)) };
  }
}

/**
 * swc's error is a rendered report, not structured data: "  x Expected ';'\n   ,-[1:1]\n 1 | let a = = 1\n
 * :         ^". We take the first message line and the caret under the first quoted source line.
 */
export function readSwcError(report: string): { message: string; line: number; column: number } {
  const lines = report.split("\n");
  const first = lines.find((l) => l.trimStart().startsWith("x "));
  const message = first ? first.trimStart().slice(2).trim() : (lines[0] ?? "syntax error").trim();
  for (let i = 0; i + 1 < lines.length; i++) {
    const numbered = /^\s*(\d+) \| /.exec(lines[i]!);
    const caretLine = lines[i + 1]!;
    if (!numbered || !/^\s*: /.test(caretLine)) continue;
    const prefix = numbered[0].length;
    const caret = caretLine.indexOf("^");
    if (caret === -1) continue;
    return { message, line: Number(numbered[1]), column: Math.max(0, caret - prefix) };
  }
  return { message, line: 1, column: 0 };
}
