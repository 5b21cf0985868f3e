// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the strings are source code of test projects
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import vm from "node:vm";
import { afterAll, describe, expect, it } from "vitest";
import { makeProject, removeProjects } from "./__tests__/project.js";
import { BuildError } from "./errors.js";
import { buildWorkflowBundle } from "./workflow-bundle.js";

afterAll(removeProjects);

const WORKFLOWS = Symbol.for("wfkit.workflows");
const USE_STEP = Symbol.for("wfkit.useStep");

/** Runs a bundle in a fresh `node:vm` context whose `useStep` records calls and answers `step(id)`. */
function runInSandbox(code: string) {
  const calls: { id: string; args: unknown[] }[] = [];
  const context = vm.createContext({});
  const global = vm.runInContext("globalThis", context) as Record<symbol, unknown>;
  global[USE_STEP] =
    (id: string) =>
    async (...args: unknown[]) => {
      calls.push({ id, args });
      return `${id}(${args.join(",")})`;
    };
  new vm.Script(code, { filename: "workflows.js" }).runInContext(context);
  const workflows = global[WORKFLOWS] as Map<string, (...args: unknown[]) => Promise<unknown>>;
  return { workflows, calls };
}

const project = () =>
  makeProject({
    "package.json": JSON.stringify({ name: "p", type: "module" }),
    "tsconfig.json": JSON.stringify({
      compilerOptions: { baseUrl: ".", paths: { "@lib/*": ["src/lib/*"] } },
    }),
    "src/order.ts": [
      'import { readFileSync } from "node:fs";',
      'import { double } from "@lib/math";',
      "",
      "export async function charge(amount: number) {",
      '  "use step";',
      '  return readFileSync("/dev/null", "utf8") + amount;',
      "}",
      "",
      "export async function checkout(amount: number) {",
      '  "use workflow";',
      "  const receipt = await charge(double(amount));",
      "  return `done: ${receipt}`;",
      "}",
      "",
    ].join("\n"),
    "src/lib/math.ts": "export const double = (n: number): number => n * 2;\n",
    "src/signup.ts": [
      "async function sendEmail(to: string) {",
      '  "use step";',
      "  return to;",
      "}",
      "export async function signup(email: string) {",
      '  "use workflow";',
      "  return sendEmail(email);",
      "}",
      "",
    ].join("\n"),
  });

describe("buildWorkflowBundle", () => {
  it("bundles every workflow into one script that registers them in the sandbox and calls steps by ID", async () => {
    const root = project();
    const bundle = await buildWorkflowBundle({
      projectRoot: root,
      entries: ["src/order.ts", "src/signup.ts"],
    });
    const { workflows, calls } = runInSandbox(bundle.code);
    expect([...workflows.keys()].sort()).toEqual([
      "workflow//src/order.ts//checkout",
      "workflow//src/signup.ts//signup",
    ]);
    // `@lib/math` is a tsconfig alias: resolved and bundled, and the step-only `node:fs` import is gone.
    await expect(workflows.get("workflow//src/order.ts//checkout")!(21)).resolves.toBe(
      "done: step//src/order.ts//charge(42)",
    );
    expect(calls).toEqual([{ id: "step//src/order.ts//charge", args: [42] }]);
    expect(bundle.code).not.toContain("node:fs");
    expect(bundle.inputs.map((f) => path.relative(root, f)).sort()).toEqual([
      path.join("src", "lib", "math.ts"),
      path.join("src", "order.ts"),
      path.join("src", "signup.ts"),
    ]);
    expect(bundle.modules.map((m) => path.relative(root, m.file))).toEqual([
      path.join("src", "order.ts"),
      path.join("src", "signup.ts"),
    ]);
  });

  it("writes the bundle and a source map that points at the original files", async () => {
    const root = project();
    const bundle = await buildWorkflowBundle({
      projectRoot: root,
      entries: ["src/order.ts"],
      outfile: "out/wf.js",
    });
    const written = readFileSync(path.join(root, "out/wf.js"), "utf8");
    expect(written).toBe(bundle.code);
    expect(written).toContain("//# sourceMappingURL=wf.js.map");
    const map = JSON.parse(readFileSync(path.join(root, "out/wf.js.map"), "utf8"));
    expect(map.sources).toContain("../src/order.ts");
    // the map carries the original text (with the step body), not the compiled one
    const original = map.sourcesContent[map.sources.indexOf("../src/order.ts")];
    expect(original).toContain('readFileSync("/dev/null", "utf8")');
  });

  it("fails with the whole import chain when workflow code reaches a Node built-in", async () => {
    const root = makeProject({
      "package.json": JSON.stringify({ name: "p" }),
      "src/order.ts": [
        'import { config } from "./lib/util";',
        "export async function order() {",
        '  "use workflow";',
        "  return config();",
        "}",
        "",
      ].join("\n"),
      "src/lib/util.ts":
        'import { readFileSync } from "node:fs";\nexport const config = () => readFileSync("x", "utf8");\n',
    });
    const error = await buildWorkflowBundle({ projectRoot: root, entries: ["src/order.ts"] }).catch((e) => e);
    expect(error).toBeInstanceOf(BuildError);
    expect(error.message).toContain("src/order.ts → src/lib/util.ts → node:fs");
    expect(error.message).toContain('into a function marked "use step"');
    expect(error.problems).toHaveLength(1);
    // located at the import that brings the built-in in
    expect(error.problems[0]).toMatchObject({ file: "src/lib/util.ts", line: 1, column: 29 });
    expect(error.message).toContain("src/lib/util.ts:1:29: the Node.js built-in");
  });

  it("does not fail for Node built-ins that only steps use, directly or through step-only modules", async () => {
    const root = makeProject({
      "package.json": JSON.stringify({ name: "p" }),
      "src/flow.ts": [
        'import { readFileSync } from "node:fs";',
        'import { query } from "./lib/db";',
        'import { saveFile } from "./steps";',
        "async function load(id: string) {",
        '  "use step";',
        '  return readFileSync(id, "utf8") + query(id);',
        "}",
        "export async function flow(id: string) {",
        '  "use workflow";',
        "  const text = await load(id);",
        "  return saveFile(text);",
        "}",
        "",
      ].join("\n"),
      "src/lib/db.ts":
        'import { execSync } from "node:child_process";\nexport const query = (q: string) => String(execSync(q));\n',
      "src/steps.ts": [
        'import { writeFile } from "node:fs/promises";',
        "export async function saveFile(text: string) {",
        '  "use step";',
        '  await writeFile("/tmp/x", text);',
        "  return text.length;",
        "}",
        "",
      ].join("\n"),
    });
    const bundle = await buildWorkflowBundle({ projectRoot: root, entries: ["src/flow.ts"] });
    expect(bundle.code).not.toMatch(/node:|child_process|execSync/);
    expect(bundle.inputs.map((f) => path.relative(root, f)).sort()).toEqual([
      path.join("src", "flow.ts"),
      path.join("src", "steps.ts"),
    ]);
    const { workflows, calls } = runInSandbox(bundle.code);
    await expect(workflows.get("workflow//src/flow.ts//flow")!("a")).resolves.toBe(
      "step//src/steps.ts//saveFile(step//src/flow.ts//load(a))",
    );
    expect(calls.map((c) => c.id)).toEqual(["step//src/flow.ts//load", "step//src/steps.ts//saveFile"]);
  });

  it("reports a built-in imported deeper in a dependency chain, by its own name", async () => {
    const root = makeProject({
      "package.json": JSON.stringify({ name: "p" }),
      "src/flow.ts":
        'import { hash } from "hasher";\nexport async function flow() {\n  "use workflow";\n  return hash();\n}\n',
      "node_modules/hasher/package.json": JSON.stringify({ name: "hasher", main: "index.js" }),
      "node_modules/hasher/index.js":
        'const crypto = require("crypto");\nexports.hash = () => crypto.randomUUID();\n',
    });
    const error = await buildWorkflowBundle({ projectRoot: root, entries: ["src/flow.ts"] }).catch((e) => e);
    expect(error).toBeInstanceOf(BuildError);
    expect(error.message).toContain("src/flow.ts → node_modules/hasher/index.js → crypto");
  });

  it("turns compiler diagnostics into a BuildError with the location", async () => {
    const root = makeProject({
      "package.json": JSON.stringify({ name: "p" }),
      "src/bad.ts": 'export function notAsync() {\n  "use workflow";\n  return 1;\n}\n',
    });
    const error = await buildWorkflowBundle({ projectRoot: root, entries: ["src/bad.ts"] }).catch((e) => e);
    expect(error).toBeInstanceOf(BuildError);
    expect(error.problems[0].file).toBe("src/bad.ts");
    expect(error.message).toMatch(/src\/bad\.ts:\d+:\d+: .*DIRECTIVE_NOT_ASYNC/);
  });

  it("does not write anything, nor name a map file, without an outfile", async () => {
    const root = project();
    const bundle = await buildWorkflowBundle({ projectRoot: root, entries: ["src/signup.ts"], minify: true });
    expect(existsSync(path.join(root, ".workflow"))).toBe(false);
    expect(bundle.code).not.toContain("sourceMappingURL");
    expect(JSON.parse(bundle.map).sources).toEqual(["../src/signup.ts"]);
  });

  it("uses an explicitly named tsconfig for path aliases", async () => {
    const root = makeProject({
      "package.json": JSON.stringify({ name: "p" }),
      "tsconfig.build.json": JSON.stringify({ compilerOptions: { paths: { "~/*": ["./shared/*"] } } }),
      "shared/names.ts": 'export const who = "alias";\n',
      "src/hi.ts":
        'import { who } from "~/names";\nexport async function hi() {\n  "use workflow";\n  return who;\n}\n',
    });
    const failed = await buildWorkflowBundle({ projectRoot: root, entries: ["src/hi.ts"] }).catch((e) => e);
    expect(failed).toBeInstanceOf(BuildError);
    expect(failed.message).toContain('Could not resolve "~/names"');
    const bundle = await buildWorkflowBundle({
      projectRoot: root,
      entries: ["src/hi.ts"],
      tsconfig: "tsconfig.build.json",
    });
    const { workflows } = runInSandbox(bundle.code);
    await expect(workflows.get("workflow//src/hi.ts//hi")!()).resolves.toBe("alias");
  });

  it("returns warnings instead of dropping them", async () => {
    const root = makeProject({
      "package.json": JSON.stringify({ name: "p" }),
      "src/where.ts": 'export async function where() {\n  "use workflow";\n  return import.meta.url;\n}\n',
    });
    const bundle = await buildWorkflowBundle({ projectRoot: root, entries: ["src/where.ts"] });
    expect(bundle.warnings.length).toBeGreaterThan(0);
    expect(bundle.warnings[0]).toMatchObject({ file: "src/where.ts", line: 3 });
    expect(bundle.warnings[0]!.message).toContain("import.meta");
  });

  it("says which entry is missing", async () => {
    const root = project();
    const error = await buildWorkflowBundle({ projectRoot: root, entries: ["src/gone.ts"] }).catch((e) => e);
    expect(error).toBeInstanceOf(BuildError);
    expect(error.message).toContain("src/gone.ts: is listed as an entry but does not exist");
  });

  it("bundles the real `workflow` package for the sandbox without pulling in Node built-ins", async () => {
    const root = makeProject(
      {
        "package.json": JSON.stringify({ name: "p", type: "module" }),
        "src/wait.ts": [
          'import { sleep } from "workflow";',
          "export async function wait() {",
          '  "use workflow";',
          '  await sleep("1s");',
          '  return "woke";',
          "}",
          "",
        ].join("\n"),
      },
      { insideRepo: true },
    );
    const bundle = await buildWorkflowBundle({
      projectRoot: root,
      entries: ["src/wait.ts"],
      conditions: ["source"],
    });
    const context = vm.createContext({});
    const slept: unknown[] = [];
    const global = vm.runInContext("globalThis", context) as Record<symbol, unknown>;
    global[Symbol.for("wfkit.runtime")] = { sleep: async (d: unknown) => void slept.push(d) };
    new vm.Script(bundle.code).runInContext(context);
    const workflows = global[WORKFLOWS] as Map<string, () => Promise<unknown>>;
    await expect(workflows.get("workflow//src/wait.ts//wait")!()).resolves.toBe("woke");
    expect(slept).toEqual(["1s"]);
  });
});
