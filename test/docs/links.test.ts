/** Relative links between the pages of `docs/` point at files that exist. */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const docs = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "docs");

function pages(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return pages(full);
    return entry.name.endsWith(".md") ? [full] : [];
  });
}

it("every relative link in docs/ points at a file that exists", () => {
  const all = pages(docs);
  expect(all.length).toBeGreaterThan(20);
  const broken: string[] = [];
  for (const page of all) {
    const text = readFileSync(page, "utf8");
    for (const match of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
      const target = match[1]!;
      if (/^[a-z]+:/.test(target)) continue;
      if (!existsSync(path.resolve(path.dirname(page), target)))
        broken.push(`${path.relative(docs, page)} → ${target}`);
    }
  }
  expect(broken).toEqual([]);
});
