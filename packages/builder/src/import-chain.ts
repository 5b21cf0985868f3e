import type { Metafile } from "esbuild";

/** One way a forbidden import is reached: `["src/order.ts", "src/lib/util.ts", "node:fs"]`. */
export type ImportChain = string[];

/**
 * For every external import that `isForbidden` accepts, the shortest chain of imports from one of `roots`
 * to it, read from esbuild's metafile (whose input keys are paths relative to `absWorkingDir`). Breadth-first,
 * so the chain a developer sees is the most direct one; each forbidden specifier is reported once per
 * importing file.
 */
export function findForbiddenImports(
  metafile: Metafile,
  roots: string[],
  isForbidden: (specifier: string) => boolean,
): ImportChain[] {
  const parent = new Map<string, string | null>();
  const queue: string[] = [];
  for (const root of roots) {
    if (metafile.inputs[root] && !parent.has(root)) {
      parent.set(root, null);
      queue.push(root);
    }
  }
  const chains: ImportChain[] = [];
  for (let i = 0; i < queue.length; i++) {
    const file = queue[i]!;
    const seenHere = new Set<string>();
    for (const imp of metafile.inputs[file]?.imports ?? []) {
      if (imp.external) {
        if (isForbidden(imp.path) && !seenHere.has(imp.path)) {
          seenHere.add(imp.path);
          chains.push([...pathTo(parent, file), imp.path]);
        }
        continue;
      }
      if (!parent.has(imp.path) && metafile.inputs[imp.path]) {
        parent.set(imp.path, file);
        queue.push(imp.path);
      }
    }
  }
  return chains;
}

function pathTo(parent: Map<string, string | null>, file: string): string[] {
  const chain: string[] = [];
  for (let at: string | null | undefined = file; at != null; at = parent.get(at)) chain.push(at);
  return chain.reverse();
}

/**
 * Where `specifier` is imported in `source` (the first quoted occurrence): 1-based line, 0-based column of
 * the opening quote. Textual, because the metafile records no positions; a quoted module name is rare
 * enough elsewhere that the first hit is the import.
 */
export function locateSpecifier(
  source: string,
  specifier: string,
): { line: number; column: number } | undefined {
  let best = -1;
  for (const quote of ['"', "'", "`"]) {
    const at = source.indexOf(`${quote}${specifier}${quote}`);
    if (at !== -1 && (best === -1 || at < best)) best = at;
  }
  if (best === -1) return undefined;
  const before = source.slice(0, best);
  const line = before.split("\n").length;
  return { line, column: best - (before.lastIndexOf("\n") + 1) };
}
