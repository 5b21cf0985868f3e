/**
 * `import(…)` in workflow code. A `vm.Script` has no module loader, and Node rejects such an import with an error
 * made in the HOST realm, whose `constructor.constructor` is the host's `Function` (and so `process`). The
 * keyword of every dynamic import is therefore replaced, before the code is compiled, by `_mport`, a global of the
 * workflow realm that rejects with the realm's own error (realm-code.ts). The replacement has the keyword's
 * length, so line and column positions (and source maps) do not move.
 *
 * Finding the keyword needs a real tokenizer (a regular expression cannot tell code from strings, comments,
 * template literals and regular expressions): acorn, only when the text contains `import` followed by `(` at all.
 * Code acorn cannot parse is left as is (V8 reports its own syntax error, or the rare construct runs unchanged).
 */
import { Parser, tokTypes } from "acorn";

const CANDIDATE = /\bimport\s*(?:\(|\/[/*])/;
const REPLACEMENT = "_mport";

/** Start offsets of the `import` keywords of dynamic imports in `source` (parsed as a script). */
function dynamicImports(source: string): number[] {
  const found: number[] = [];
  let importAt = -1;
  try {
    Parser.parse(source, {
      ecmaVersion: "latest",
      sourceType: "script",
      allowReturnOutsideFunction: true,
      allowAwaitOutsideFunction: true,
      allowHashBang: true,
      onToken(token) {
        if (token.type === tokTypes.parenL && importAt >= 0) found.push(importAt);
        importAt = token.type === tokTypes._import ? token.start : -1;
      },
    });
  } catch {
    return [];
  }
  return found;
}

function replaceAt(source: string, offsets: readonly number[]): string {
  let out = "";
  let from = 0;
  for (const at of offsets) {
    out += source.slice(from, at) + REPLACEMENT;
    from = at + REPLACEMENT.length;
  }
  return out + source.slice(from);
}

/** Script source (a bundle, an `eval`) with every `import(` turned into `_mport(`. */
export function withoutDynamicImport(source: string): string {
  if (!CANDIDATE.test(source)) return source;
  const offsets = dynamicImports(source);
  return offsets.length === 0 ? source : replaceAt(source, offsets);
}

/**
 * The parameter and body strings given to a `Function`-like constructor (`kind`: "function", "async function",
 * "function*", "async function*"), rewritten the same way: they are assembled as V8 does, and split back.
 */
export function functionWithoutDynamicImport(strings: readonly string[], kind: string): string[] {
  if (!strings.some((s) => CANDIDATE.test(s))) return [...strings];
  const params = strings.slice(0, -1);
  const body = strings.at(-1) ?? "";
  const head = `(${kind} anonymous(`;
  const separator = ",";
  const middle = "\n) {\n";
  const source = `${head}${params.join(separator)}${middle}${body}\n})`;
  const offsets = dynamicImports(source);
  if (offsets.length === 0) return [...strings];
  const rewritten = replaceAt(source, offsets);
  const out: string[] = [];
  let at = head.length;
  for (const param of params) {
    out.push(rewritten.slice(at, at + param.length));
    at += param.length + separator.length;
  }
  at = head.length + params.join(separator).length + middle.length;
  out.push(rewritten.slice(at, at + body.length));
  return out;
}
