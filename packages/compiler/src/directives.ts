export type DirectiveKind = "workflow" | "step";

export const DIRECTIVES: Record<string, DirectiveKind> = {
  "use workflow": "workflow",
  "use step": "step",
};

/** The directive `text` is one edit away from (a typo), or null. Exact matches return null. */
export function misspelledDirective(text: string): string | null {
  for (const directive of Object.keys(DIRECTIVES)) {
    if (text !== directive && withinOneEdit(text, directive)) return directive;
  }
  return null;
}

/**
 * True when `a` becomes `b` with at most one insertion, deletion, substitution or swap of neighbours
 * (restricted Damerau-Levenshtein ≤ 1). Written out because a general edit-distance library would compute
 * the full matrix for a yes/no answer on two short strings.
 */
export function withinOneEdit(a: string, b: string): boolean {
  if (a === b) return true;
  const la = a.length;
  const lb = b.length;
  if (Math.abs(la - lb) > 1) return false;
  let i = 0;
  while (i < la && i < lb && a[i] === b[i]) i++;
  if (la === lb) {
    if (a.slice(i + 1) === b.slice(i + 1)) return true;
    return a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2);
  }
  return la > lb ? a.slice(i + 1) === b.slice(i) : a.slice(i) === b.slice(i + 1);
}

const ANCHORS = ["use", "step", "workflow"];
const QUOTES = new Set(['"', "'"]);

/**
 * Cheap test run before parsing: could this file hold a directive or a one-edit typo of one? Any string
 * within one edit of "use step" keeps "use" or "step" intact (one edit cannot touch both halves, the space
 * separates them), and likewise for "use workflow"; so we only inspect quoted strings of plausible length
 * around those anchors. False positives only cost a parse; false negatives would hide a typo.
 */
export function mayContainDirective(source: string): boolean {
  if (source.includes("use workflow") || source.includes("use step")) return true;
  for (const anchor of ANCHORS) {
    for (let at = source.indexOf(anchor); at !== -1; at = source.indexOf(anchor, at + 1)) {
      if (quotedNearMiss(source, at, anchor.length)) return true;
    }
  }
  return false;
}

function quotedNearMiss(source: string, at: number, anchorLength: number): boolean {
  const maxLength = "use workflow".length + 1;
  for (let open = at - 1; open >= Math.max(0, at - maxLength); open--) {
    const quote = source[open]!;
    if (!QUOTES.has(quote)) continue;
    const close = source.indexOf(quote, at + anchorLength);
    if (close === -1 || close - open - 1 > maxLength) continue;
    if (misspelledDirective(source.slice(open + 1, close)) !== null) return true;
  }
  return false;
}
