/**
 * Finds the documentation slugs that the runtime's error messages cite (`see docs: <slug>`), so a test can
 * check that each has a page under `docs/errors/`. A message is usually built from a constant, so besides
 * literal citations this reads the places a slug is declared: `…_SLUG = "<slug>"` constants, `slug = "<slug>"`
 * fields of error classes and `errorDocs("<slug>")` calls. `errors#<slug>` (an anchor of an errors page) counts
 * as `<slug>`.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

const SLUG = "[a-z0-9]+(?:-[a-z0-9]+)*";
const PATTERNS: RegExp[] = [
  // Not `errors#${slug}`: a template names its slug elsewhere.
  new RegExp(`see docs: (?:errors[#/])?(${SLUG})(?![\\w#$/-])`, "g"),
  new RegExp(`\\b[A-Z][A-Z0-9_]*_SLUG\\s*(?::\\s*[^=]+)?=\\s*["'\`](${SLUG})["'\`]`, "g"),
  new RegExp(`\\bslug\\s*(?::\\s*[^=;]+)?=\\s*["'\`](${SLUG})["'\`]`, "g"),
  new RegExp(`\\berrorDocs\\(\\s*["'\`](${SLUG})["'\`]`, "g"),
];

export interface Citation {
  slug: string;
  file: string;
  line: number;
}

/** The slugs one source text cites, with their line numbers. */
export function citedSlugs(source: string): Array<{ slug: string; line: number }> {
  const found: Array<{ slug: string; line: number }> = [];
  for (const pattern of PATTERNS) {
    for (const match of source.matchAll(pattern)) {
      const line = source.slice(0, match.index).split("\n").length;
      found.push({ slug: match[1]!, line });
    }
  }
  return found;
}

/** Every `.ts` source under `dirs` (tests, declarations, build output and dependencies left out). */
export function sourceFiles(root: string, dirs: readonly string[]): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    let entries: import("node:fs").Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (["node_modules", "dist", "__tests__", ".tmp"].includes(entry.name)) continue;
        walk(full);
      } else if (/\.(ts|mts|tsx)$/.test(entry.name) && !/\.(test|d)\.[mc]?tsx?$/.test(entry.name)) {
        files.push(full);
      }
    }
  };
  for (const dir of dirs) walk(path.join(root, dir));
  return files.sort();
}

/** Every citation in the sources of the packages under `dirs` (relative to `root`). */
export function scanCitations(root: string, dirs: readonly string[]): Citation[] {
  const citations: Citation[] = [];
  for (const file of sourceFiles(root, dirs)) {
    for (const { slug, line } of citedSlugs(readFileSync(file, "utf8"))) {
      citations.push({ slug, file: path.relative(root, file), line });
    }
  }
  return citations;
}
