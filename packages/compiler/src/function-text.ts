/**
 * Small lexical helpers over the ORIGINAL text of one function, used where swc's AST has no span for the
 * thing we must edit (the parentheses of a parameter list). They only skip strings, templates and comments
 * and count brackets; every position they start from comes from the syntax tree.
 */

/** Index just past a string, template or comment starting at `i`, or `i` when none starts there. */
function skipTrivia(text: string, i: number): number {
  const c = text[i];
  if (c === "/" && text[i + 1] === "/") {
    const nl = text.indexOf("\n", i);
    return nl === -1 ? text.length : nl;
  }
  if (c === "/" && text[i + 1] === "*") {
    const close = text.indexOf("*/", i + 2);
    return close === -1 ? text.length : close + 2;
  }
  if (c === '"' || c === "'" || c === "`") {
    let j = i + 1;
    while (j < text.length && text[j] !== c) j += text[j] === "\\" ? 2 : 1;
    return j + 1;
  }
  return i;
}

/**
 * The parameter list `(…)` starting at or after `from` and before `limit` (the body), as the indices of
 * the two parentheses; null for an arrow whose single parameter has no parentheses.
 */
export function findParamList(
  text: string,
  from: number,
  limit: number,
): { open: number; close: number } | null {
  let i = from;
  while (i < limit) {
    const skipped = skipTrivia(text, i);
    if (skipped !== i) {
      i = skipped;
      continue;
    }
    if (text[i] === "(") break;
    i++;
  }
  if (i >= limit) return null;
  const open = i;
  let depth = 0;
  while (i < limit) {
    const skipped = skipTrivia(text, i);
    if (skipped !== i) {
      i = skipped;
      continue;
    }
    const c = text[i];
    if (c === "(" || c === "[" || c === "{") depth++;
    else if (c === ")" || c === "]" || c === "}") {
      depth--;
      if (depth === 0) return { open, close: i };
    }
    i++;
  }
  return null;
}

/** True when `name` can be written as `obj.name` (else it needs `obj["name"]`). */
export function isIdentifierName(name: string): boolean {
  return /^[A-Za-z_$][\w$]*$/.test(name);
}

export function memberAccess(object: string, key: string): string {
  return isIdentifierName(key) ? `${object}.${key}` : `${object}[${JSON.stringify(key)}]`;
}
