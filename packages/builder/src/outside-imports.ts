/**
 * Files outside the project root that the project reaches by a relative import (`../../shared/flows.ts`):
 * the project walk never sees them, yet the app bundle compiles them, so their workflows and steps must be in
 * the workflow and step bundles too. Only relative specifiers are followed; packages are found through
 * package.json dependencies instead.
 */
import { readFileSync, statSync } from "node:fs";
import path from "node:path";

/** `from "../x"`, `import("../x")`, `import "../x"`, `require("../x")`, `export … from "../x"`. */
const RELATIVE_SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)["'](\.{1,2}\/[^"'\n]+)["']/g;

/** Per-process cache by mtime and size: dev rebuilds scan every project file again. */
const cache = new Map<string, { mtimeMs: number; size: number; specifiers: string[] }>();

/** The relative specifiers a file imports (cached), empty when it has none or cannot be read. */
export function relativeSpecifiers(file: string): string[] {
  const stat = statSync(file, { throwIfNoEntry: false });
  if (!stat?.isFile()) return [];
  const cached = cache.get(file);
  if (cached && cached.mtimeMs === stat.mtimeMs && cached.size === stat.size) return cached.specifiers;
  let specifiers: string[] = [];
  try {
    const text = readFileSync(file, "utf8");
    if (text.includes("./")) specifiers = [...text.matchAll(RELATIVE_SPECIFIER)].map((m) => m[1]!);
  } catch {
    specifiers = [];
  }
  cache.set(file, { mtimeMs: stat.mtimeMs, size: stat.size, specifiers });
  return specifiers;
}

const TS_FOR_JS: Record<string, string[]> = {
  ".js": [".ts", ".tsx", ".js", ".jsx"],
  ".mjs": [".mts", ".mjs"],
  ".cjs": [".cts", ".cjs"],
  ".jsx": [".tsx", ".jsx"],
};
const BARE = [".ts", ".tsx", ".mts", ".js", ".jsx", ".mjs"];

/** The file a relative specifier names, as TypeScript-aware bundlers resolve it (`./a.js` may be `a.ts`). */
export function resolveRelative(fromFile: string, specifier: string): string | undefined {
  const target = path.resolve(path.dirname(fromFile), specifier.replace(/[?#].*$/, ""));
  if (isFile(target)) return target;
  const ext = path.extname(target);
  const swaps = TS_FOR_JS[ext];
  if (swaps) {
    const stem = target.slice(0, -ext.length);
    for (const e of swaps) if (isFile(stem + e)) return stem + e;
  }
  for (const e of BARE) if (isFile(target + e)) return target + e;
  for (const e of BARE) if (isFile(path.join(target, `index${e}`))) return path.join(target, `index${e}`);
  return undefined;
}

/**
 * Every file outside `isCovered` reached from `starts` by relative imports, following them transitively
 * (a helper module outside the root may import the file that holds the workflow).
 */
export function reachableOutside(starts: Iterable<string>, isCovered: (file: string) => boolean): string[] {
  const seen = new Set<string>();
  const queue: string[] = [];
  const visit = (from: string) => {
    for (const spec of relativeSpecifiers(from)) {
      const target = resolveRelative(from, spec);
      if (
        !target ||
        isCovered(target) ||
        seen.has(target) ||
        target.includes(`${path.sep}node_modules${path.sep}`)
      )
        continue;
      seen.add(target);
      queue.push(target);
    }
  };
  for (const file of starts) visit(file);
  while (queue.length > 0) visit(queue.pop()!);
  return [...seen].sort();
}

function isFile(p: string): boolean {
  return statSync(p, { throwIfNoEntry: false })?.isFile() ?? false;
}
