/**
 * Every slug an error message cites (`see docs: <slug>`) has a page `docs/errors/<slug>.md`, and so does every
 * error slug of Vercel's Workflow DevKit, whose users look them up by name.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { citedSlugs, scanCitations } from "./error-slugs.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const errorsDir = path.join(root, "docs", "errors");
const SOURCE_DIRS = ["runtime", "packages", "plugins"];

/** The error slugs of WDK's documentation (`docs/errors/*.mdx` of the `workflow` package). */
const WDK_SLUGS = [
  "corrupted-event-log",
  "fetch-in-workflow",
  "hook-conflict",
  "node-js-module-in-workflow",
  "replay-divergence",
  "serialization-failed",
  "start-invalid-workflow-function",
  "step-not-registered",
  "timeout-in-workflow",
  "webhook-invalid-respond-with-value",
  "webhook-response-not-sent",
  "workflow-not-registered",
];

const pageOf = (slug: string) => path.join(errorsDir, `${slug}.md`);

describe("the scanner", () => {
  it("finds literal citations, slug constants, slug fields and errorDocs() calls", () => {
    const source = [
      "throw new Error(`x failed (see docs: first-slug)`);",
      'export const OTHER_SLUG = "second-slug";',
      'export const TYPED_SLUG: string = "typed-slug";',
      "class E { readonly slug = 'third-slug'; }",
      'const m = `\u0024{errorDocs("fourth-slug")}`;',
      'const n = "(see docs: errors#fifth-slug)";',
      "const template = `see docs: \u0024{slug}`; // not a literal: the slug is declared elsewhere",
      "const anchored = `(see docs: errors#\u0024{slug})`;",
      "const notASlug = 'slugs are fine';",
    ].join("\n");
    expect(citedSlugs(source)).toEqual(
      expect.arrayContaining([
        { slug: "first-slug", line: 1 },
        { slug: "second-slug", line: 2 },
        { slug: "typed-slug", line: 3 },
        { slug: "third-slug", line: 4 },
        { slug: "fourth-slug", line: 5 },
        { slug: "fifth-slug", line: 6 },
      ]),
    );
    expect(citedSlugs(source)).toHaveLength(6);
  });
});

describe("error pages", () => {
  const citations = scanCitations(root, SOURCE_DIRS);

  it("the sources cite the slugs the serialization errors are known to cite", () => {
    // Guards the scan itself: if it found nothing, every slug would trivially "have a page".
    const slugs = new Set(citations.map((c) => c.slug));
    expect(slugs).toContain("serialization-unsupported-value");
    expect(slugs).toContain("serialization-unknown-class");
  });

  it("every slug cited in runtime, packages and plugins has a page in docs/errors/", () => {
    const missing = citations
      .filter((c) => !existsSync(pageOf(c.slug)))
      .map((c) => `${c.slug} (cited at ${c.file}:${c.line}): write docs/errors/${c.slug}.md`);
    expect(missing).toEqual([]);
  });

  it("every error slug of WDK's documentation has a page", () => {
    const missing = WDK_SLUGS.filter((slug) => !existsSync(pageOf(slug)));
    expect(missing).toEqual([]);
  });

  it("each page is titled with its slug, explains the fix, and is listed in the index", () => {
    const index = readFileSync(path.join(errorsDir, "README.md"), "utf8");
    const pages = readdirSync(errorsDir).filter((f) => f.endsWith(".md") && f !== "README.md");
    expect(pages.length).toBeGreaterThanOrEqual(WDK_SLUGS.length);
    const problems: string[] = [];
    for (const page of pages) {
      const slug = page.slice(0, -".md".length);
      const text = readFileSync(path.join(errorsDir, page), "utf8");
      if (!text.startsWith(`# ${slug}\n`)) problems.push(`${page}: the first line must be "# ${slug}"`);
      if (!/^## How to fix it$/m.test(text)) problems.push(`${page}: no "## How to fix it" section`);
      if (!index.includes(`(${page})`)) problems.push(`${page}: not linked from docs/errors/README.md`);
    }
    expect(problems).toEqual([]);
  });

  it("links between pages point at pages that exist", () => {
    const broken: string[] = [];
    for (const page of readdirSync(errorsDir).filter((f) => f.endsWith(".md"))) {
      const text = readFileSync(path.join(errorsDir, page), "utf8");
      for (const match of text.matchAll(/\]\(([^)#\s]+\.md)(?:#[^)]*)?\)/g)) {
        const target = path.resolve(errorsDir, match[1]!);
        if (!existsSync(target)) broken.push(`${page} → ${match[1]}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
