/**
 * `docs/api.md` lists every public export of `workflow`, `workflow/api`, `workflow/errors`, `workflow/runtime`
 * and `workflow/observability` (read from the package's sources), in the section of its module, and nothing
 * those modules do not export; what it calls a function, class or value is one at run time.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const doc = readFileSync(path.join(root, "docs", "api.md"), "utf8");

const MODULES = {
  workflow: "index.ts",
  "workflow/api": "api.ts",
  "workflow/errors": "errors.ts",
  "workflow/runtime": "runtime.ts",
  "workflow/observability": "observability.ts",
} as const;
type Module = keyof typeof MODULES;

/** Names a module's source exports: `export { a, type B } from …` lists and `export function|class|… name`. */
function exportsOf(module: Module): Set<string> {
  const source = readFileSync(path.join(root, "packages", "workflow", "src", MODULES[module]), "utf8");
  const names = new Set<string>();
  for (const list of source.matchAll(/export\s*(?:type\s*)?\{([^}]*)\}/g)) {
    for (const part of list[1]!.split(",")) {
      const name = part
        .trim()
        .replace(/^type\s+/, "")
        .split(/\s+as\s+/)
        .pop()!
        .trim();
      if (name) names.add(name);
    }
  }
  for (const decl of source.matchAll(
    /export\s+(?:declare\s+)?(?:async\s+)?(?:function|class|interface|type|const|let|enum)\s+([A-Za-z_$][\w$]*)/g,
  )) {
    names.add(decl[1]!);
  }
  return names;
}

/** The rows of the module's section of docs/api.md: each name of the first cell, with the row's kind. */
function documented(module: Module): Map<string, string> {
  const heading = `## \`${module}\``;
  const start = doc.indexOf(`${heading}\n`);
  if (start < 0) throw new Error(`docs/api.md has no section "${heading}"`);
  const end = doc.indexOf("\n## ", start + heading.length);
  const section = doc.slice(start, end < 0 ? undefined : end);
  const rows = new Map<string, string>();
  for (const row of section.matchAll(/^\| (`[^|]+`) \| (function|class|type|value) \|/gm)) {
    for (const name of row[1]!.matchAll(/`([^`]+)`/g)) rows.set(name[1]!, row[2]!);
  }
  return rows;
}

describe("docs/api.md", () => {
  for (const module of Object.keys(MODULES) as Module[]) {
    it(`lists exactly the exports of ${module}, with the right kind`, async () => {
      const exported = exportsOf(module);
      const rows = documented(module);
      expect(exported.size).toBeGreaterThan(5);
      expect([...exported].filter((name) => !rows.has(name)).sort(), "exported but not documented").toEqual(
        [],
      );
      expect(
        [...rows.keys()].filter((name) => !exported.has(name)).sort(),
        "documented but not exported",
      ).toEqual([]);
      const loaded = (await import(module)) as Record<string, unknown>;
      const wrong: string[] = [];
      for (const [name, kind] of rows) {
        const value = loaded[name];
        const actual =
          value === undefined
            ? "type"
            : typeof value === "function"
              ? /^[A-Z]/.test(name)
                ? "class"
                : "function"
              : "value";
        if (actual !== kind) wrong.push(`${name}: documented as ${kind}, is ${actual}`);
      }
      expect(wrong).toEqual([]);
    });
  }
});
