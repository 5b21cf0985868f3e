/**
 * The source text of each workflow and step function, for the manifest's content hashes. The compiler
 * reports where a function starts (the start of its syntax node) but not where it ends, so we parse the file
 * once with swc and look the function up by that start position.
 */
import { type ParseOptions, parseSync } from "@swc/core";
import type { SourceLocation } from "@wfkit/compiler";

const FUNCTION_NODES = new Set([
  "FunctionDeclaration",
  "FunctionExpression",
  "ArrowFunctionExpression",
  "ClassMethod",
  "PrivateMethod",
  "MethodProperty",
  "GetterProperty",
  "SetterProperty",
]);

interface Span {
  start: number;
  end: number;
}

/**
 * Returns a function that gives the text of the function starting at a location, or `undefined` when no
 * function starts there (the caller decides the fallback). Parses lazily, once per file.
 */
export function functionTextFinder(
  source: string,
  filename: string,
): (loc: SourceLocation) => string | undefined {
  let byStart: Map<number, Span> | undefined;
  const bytes = Buffer.from(source, "utf8");
  const ascii = bytes.length === source.length;
  const lineStarts = [0];
  for (let i = source.indexOf("\n"); i !== -1; i = source.indexOf("\n", i + 1)) lineStarts.push(i + 1);
  return (loc) => {
    byStart ??= functionSpans(source, filename);
    const lineStart = lineStarts[loc.line - 1];
    if (lineStart === undefined) return undefined;
    const index = lineStart + loc.column;
    // swc spans are 1-based UTF-8 byte offsets; our locations are UTF-16 indices.
    const byte = (ascii ? index : Buffer.byteLength(source.slice(0, index), "utf8")) + 1;
    const span = byStart.get(byte);
    return span ? bytes.subarray(span.start - 1, span.end - 1).toString("utf8") : undefined;
  };
}

function functionSpans(source: string, filename: string): Map<number, Span> {
  const spans = new Map<number, Span>();
  let program: unknown;
  try {
    program = parseSync(source, parserOptions(filename));
  } catch {
    return spans; // the compiler has already reported the syntax error
  }
  // An explicit stack, not recursion: valid code can be a syntax tree thousands of levels deep (a long
  // operator chain), deeper than the JavaScript call stack. Children are pushed in reverse so that nodes
  // are still visited in source order.
  const stack: unknown[] = [program];
  while (stack.length > 0) {
    const node = stack.pop();
    if (node === null || typeof node !== "object") continue;
    if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--) stack.push(node[i]);
      continue;
    }
    const n = node as { type?: string; span?: Span };
    if (n.type && FUNCTION_NODES.has(n.type) && n.span && !spans.has(n.span.start)) {
      spans.set(n.span.start, n.span);
    }
    const children = Object.keys(n).filter((key) => key !== "span");
    for (let i = children.length - 1; i >= 0; i--) stack.push((n as Record<string, unknown>)[children[i]!]);
  }
  return spans;
}

function parserOptions(filename: string): ParseOptions {
  const common = { target: "es2022" as const, comments: false };
  if (/\.[cm]?ts$/.test(filename)) return { syntax: "typescript", ...common };
  if (filename.endsWith(".tsx")) return { syntax: "typescript", tsx: true, ...common };
  return { syntax: "ecmascript", jsx: true, ...common };
}
