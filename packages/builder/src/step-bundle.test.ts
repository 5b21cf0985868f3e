// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the strings are source code of test projects
import { readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { makeProject, removeProjects, writeFiles } from "./__tests__/project.js";
import { BuildError } from "./errors.js";
import { buildStepBundle, packageName } from "./step-bundle.js";

afterAll(removeProjects);

const STEPS = Symbol.for("wfkit.steps");
const registry = () =>
  (globalThis as Record<symbol, Map<string, (...args: unknown[]) => Promise<unknown>>>)[STEPS];
afterEach(() => registry()?.clear());

const project = () =>
  makeProject({
    "package.json": JSON.stringify({
      name: "app",
      type: "module",
      dependencies: { greeter: "*", "wf-lib": "*" },
    }),
    "tsconfig.json": JSON.stringify({
      compilerOptions: { baseUrl: ".", paths: { "@lib/*": ["src/lib/*"] } },
    }),
    "src/order.ts": [
      'import { readFileSync } from "node:fs";',
      'import { greet } from "greeter";',
      'import { tax } from "@lib/tax";',
      "",
      "export async function charge(amount: number) {",
      '  "use step";',
      '  return `${greet("shop")} ${readFileSync(new URL(import.meta.url), "utf8").length > 0} ${tax(amount)}`;',
      "}",
      "",
      "export async function checkout(amount: number) {",
      '  "use workflow";',
      "  return charge(amount);",
      "}",
      "",
    ].join("\n"),
    "src/lib/tax.ts": "export const tax = (n: number): number => n * 1.5;\n",
    // an ordinary dependency: must stay an import, resolved by Node at run time
    "node_modules/greeter/package.json": JSON.stringify({
      name: "greeter",
      type: "module",
      exports: "./index.js",
    }),
    "node_modules/greeter/index.js": "export const greet = (who) => `hello ${who}`;\n",
    // a dependency that ships steps: must be compiled into the bundle, even with `sideEffects: false`
    "node_modules/wf-lib/package.json": JSON.stringify({
      name: "wf-lib",
      type: "module",
      exports: "./steps.js",
      sideEffects: false,
      workflow: { directives: true },
    }),
    "node_modules/wf-lib/steps.js":
      'export async function notify(to) {\n  "use step";\n  return `notified ${to}`;\n}\n',
  });

describe("buildStepBundle", () => {
  it("writes an ES module that registers every step, with packages external and aliases bundled", async () => {
    const root = project();
    const outfile = path.join(root, ".workflow", "steps.mjs");
    const bundle = await buildStepBundle({
      projectRoot: root,
      entries: ["src/order.ts", "node_modules/wf-lib/steps.js"],
      outfile,
    });
    const written = readFileSync(outfile, "utf8");
    expect(written).toBe(bundle.code);
    expect(written).toMatch(/from "greeter"/);
    expect(written).not.toContain("hello ${who}");
    expect(written).toContain("n * 1.5");
    expect(bundle.modules.flatMap((m) => m.steps.map((s) => s.id))).toEqual([
      "step//wf-lib/steps.js//notify",
      "step//src/order.ts//charge",
    ]);

    await import(pathToFileURL(outfile).href);
    expect([...registry().keys()].sort()).toEqual([
      "step//src/order.ts//charge",
      "step//wf-lib/steps.js//notify",
    ]);
    await expect(registry().get("step//src/order.ts//charge")!(2)).resolves.toBe("hello shop true 3");
    await expect(registry().get("step//wf-lib/steps.js//notify")!("ops")).resolves.toBe("notified ops");
  });

  it("keeps only the listed packages external when given a list, and bundled CommonJS can require", async () => {
    const root = project();
    writeFiles(root, {
      "node_modules/legacy/package.json": JSON.stringify({ name: "legacy", main: "index.js" }),
      "node_modules/legacy/index.js":
        'const path = require("node:path");\nexports.base = (p) => path.basename(p);\n',
      "src/files.ts": [
        'import { base } from "legacy";',
        "export async function fileName(p: string) {",
        '  "use step";',
        "  return base(p);",
        "}",
        "",
      ].join("\n"),
    });
    const outfile = path.join(root, "out", "steps.mjs");
    const bundle = await buildStepBundle({
      projectRoot: root,
      entries: ["src/order.ts", "src/files.ts"],
      outfile,
      external: [],
    });
    expect(bundle.code).not.toMatch(/from "greeter"/);
    expect(bundle.code).toContain("hello ${who}");
    expect(bundle.code).toMatch(/from "node:fs"/);
    await import(pathToFileURL(outfile).href);
    await expect(registry().get("step//src/files.ts//fileName")!("/a/b.txt")).resolves.toBe("b.txt");
  });

  it("fails with the compiler's message for a broken directive", async () => {
    const root = makeProject({
      "package.json": JSON.stringify({ name: "p" }),
      "src/bad.ts": 'export async function later() {\n  const x = 1;\n  "use step";\n  return x;\n}\n',
    });
    const error = await buildStepBundle({
      projectRoot: root,
      entries: ["src/bad.ts"],
      outfile: "out.mjs",
    }).catch((e) => e);
    expect(error).toBeInstanceOf(BuildError);
    expect(error.message).toContain("DIRECTIVE_NOT_FIRST");
  });
});

describe("packageName", () => {
  it("keeps the scope and drops subpaths", () => {
    expect(packageName("@scope/pkg/sub/path")).toBe("@scope/pkg");
    expect(packageName("pkg/sub")).toBe("pkg");
    expect(packageName("pkg")).toBe("pkg");
  });
});
