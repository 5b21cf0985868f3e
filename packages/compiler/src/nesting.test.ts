import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { checkNesting, findExcessiveNesting, limitForStack, NESTING_LIMIT } from "./nesting.js";

const ts = { typescript: true, jsx: false };
const tsx = { typescript: true, jsx: true };
const js = { typescript: false, jsx: true };
const rep = (s: string, n: number) => s.repeat(n);
const over = (source: string, options = ts) => findExcessiveNesting(source, options);

describe("findExcessiveNesting", () => {
  it("accepts brackets nested just under the limit and refuses them just over it", () => {
    const nest = (n: number) => `x = ${rep("(", n)}1${rep(")", n)};`;
    expect(over(nest(NESTING_LIMIT - 1))).toBeNull();
    // `x =` costs 2/16: the 800th parenthesis goes over.
    expect(over(nest(NESTING_LIMIT + 1))).toEqual({
      index: "x = ".length + NESTING_LIMIT - 1,
      brackets: NESTING_LIMIT,
      limit: NESTING_LIMIT,
    });
    for (const [open, close] of [
      ["[", "]"],
      ["{a:", "}"],
      ["f(", ")"],
      ["`${", "}`"],
    ]) {
      expect(over(`x = ${rep(open!, 3000)}1${rep(close!, 3000)};`), open).not.toBeNull();
    }
  });

  it("does not count brackets in strings, template text, comments and regular expressions", () => {
    const deep = rep("(", 3000) + rep("[", 3000) + rep("{", 3000);
    const source = [
      `const a = "${deep}";`,
      `const b = '${deep}';`,
      `const c = \`${deep}\`;`,
      `// ${deep}`,
      `/* ${deep}\n${deep} */`,
      `const d = /${rep("[(]", 3000)}/g.test(a);`,
      `const e = /\\(${rep("\\(", 3000)}/;`,
      `if (a) /${rep("[{]", 3000)}/.exec(b);`,
    ].join("\n");
    expect(over(source)).toBeNull();
  });

  it("counts code inside template placeholders, however the template text around it looks", () => {
    expect(over(`x = \`"'/*\${${rep("(", 3000)}1${rep(")", 3000)}}\`;`)).not.toBeNull();
  });

  it("cannot be made to overlook nesting by a slash that may start a regex or divide", () => {
    // After a block a `/` starts a regex; one with unbalanced groups is not a regex, so this is code.
    expect(over(`{} / ${rep("(", 3000)}1 / 2${rep(")", 3000)};`)).not.toBeNull();
    // A regex whose groups balance still counts its brackets read as code, at that point.
    expect(over(`{} / [${rep("(", 3000)}] / 2;`)).not.toBeNull();
    expect(over(`x = (a) / ${rep("(", 3000)}1 / 2${rep(")", 3000)};`)).not.toBeNull();
  });

  it("counts long operator chains, which nest in the syntax tree without brackets", () => {
    expect(over(`x = 1${rep(" + 1", 5000)};`)).toBeNull();
    expect(over(`x = 1${rep(" + 1", 40_000)};`)).not.toBeNull();
    expect(over(`x = ${rep("!", 20_000)}1;`)).not.toBeNull();
    expect(over(`x = a${rep(".b()", 20_000)};`)).not.toBeNull();
    expect(over(`x = ${rep("a => ", 3000)}1;`)).not.toBeNull();
    expect(over(`${rep("if (a) ", 3000)}x;`)).not.toBeNull();
    expect(over(`${rep("l: ", 3000)}x;`)).not.toBeNull();
    expect(over(`if (a) {}${rep(" else if (a) {}", 10_000)}`)).not.toBeNull();
    expect(over(`if (a) x;${rep(" else if (a) x;", 10_000)}`)).not.toBeNull();
    expect(over(`type T = ${rep("keyof ", 10_000)}X;`)).not.toBeNull();
    expect(over(`let x: ${rep("A<", 3000)}B${rep(">", 3000)};`)).not.toBeNull();
  });

  it("restarts chains where the syntax tree cannot stay nested", () => {
    const statements = (line: string) => Array.from({ length: 50_000 }, () => line).join("\n");
    expect(over(statements("a = b + c * d;"))).toBeNull();
    expect(over(statements("a = b + c * d"))).toBeNull(); // no semicolons
    expect(over(statements("if (a) { b() } else { c() }"))).toBeNull();
    expect(over(`switch (x) {\n${statements("case 1: a = b + c;")}\n}`)).toBeNull();
    expect(over(`x = [${Array.from({ length: 100_000 }, (_, i) => `-${i} + 1`).join(", ")}];`)).toBeNull();
    expect(
      over(`type U =\n${Array.from({ length: 20_000 }, (_, i) => `  | "v${i}"`).join("\n")};`),
    ).toBeNull();
  });

  it("counts nested JSX elements but not JSX text, where quotes and slashes are plain characters", () => {
    expect(over(`x = ${rep("<a>", 3000)}${rep("</a>", 3000)};`, tsx)).not.toBeNull();
    expect(over(`x = ${rep("<a b={", 3000)}1${rep("} />", 3000)};`, js)).not.toBeNull();
    const text = `x = <p>Don't "quote" // me /* or */ \`tick ${rep("(", 3000)}</p>;\nconst y = 1;`;
    expect(over(text, tsx)).toBeNull();
    // Code after the element is scanned as code again.
    expect(over(`${text}\ny = ${rep("(", 3000)}1${rep(")", 3000)};`, tsx)).not.toBeNull();
  });

  it("reads `<T,>` and `<T extends …>` in .tsx as type parameters, not as JSX", () => {
    const after = `${rep("(", 3000)}1${rep(")", 3000)}`;
    expect(over(`const f = <T,>(x: T) => ${after};`, tsx)).not.toBeNull();
    expect(over(`const f = <T extends object>(x: T) => ${after};`, tsx)).not.toBeNull();
  });

  it("accepts every source file of this repository with nine tenths of the limit to spare", () => {
    const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
    const files: string[] = [];
    for (const dir of ["packages", "runtime", "plugins", "test", "examples"]) {
      for (const entry of readdirSync(path.join(root, dir), { recursive: true, withFileTypes: true })) {
        const file = path.join(entry.parentPath, entry.name);
        if (entry.isFile() && /\.(m|c)?(t|j)sx?$/.test(entry.name) && !/node_modules|dist|\.tmp/.test(file))
          files.push(file);
      }
    }
    expect(files.length).toBeGreaterThan(100);
    const flagged = files.filter((file) => {
      const ext = path.extname(file);
      const options = { typescript: /tsx?$/.test(ext), jsx: !/^\.(m|c)?ts$/.test(ext), limit: 80 };
      return findExcessiveNesting(readFileSync(file, "utf8"), options) !== null;
    });
    expect(flagged).toEqual([]);
  });
});

describe("checkNesting", () => {
  it("reports where the nesting goes over the limit, with the limit and how to fix it", () => {
    const source = `// deep\nexport const x = ${rep("[", 3000)}1${rep("]", 3000)};\n`;
    const diagnostic = checkNesting(source, "/app/src/deep.ts");
    expect(diagnostic).toMatchObject({
      code: "NESTING_TOO_DEEP",
      severity: "error",
      file: "/app/src/deep.ts",
      line: 2,
      column: "export const x = ".length + NESTING_LIMIT - 1,
    });
    expect(diagnostic!.message).toContain(`more than ${NESTING_LIMIT} levels`);
    expect(diagnostic!.hint).toMatch(/Split the expression/);
  });

  it("scans JSX in .tsx, .jsx and .js files", () => {
    // Read as code rather than JSX, the apostrophe would start a string hiding the rest of the line.
    const source = `const p = <p>it's</p>; const y = ${rep("(", 3000)}1${rep(")", 3000)};`;
    for (const file of ["/app/a.tsx", "/app/a.jsx", "/app/a.js"]) {
      expect(checkNesting(source, file), file).not.toBeNull();
    }
  });
});

describe("limitForStack", () => {
  it("keeps the limit on the main thread and 4 MB+ workers, and scales it down for smaller stacks", () => {
    expect(limitForStack(undefined)).toBe(NESTING_LIMIT);
    expect(limitForStack(4)).toBe(NESTING_LIMIT);
    expect(limitForStack(64)).toBe(NESTING_LIMIT);
    expect(limitForStack(2)).toBe(NESTING_LIMIT / 2);
    expect(limitForStack(0.01)).toBe(2);
  });
});
