import { utimesSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { makeProject, removeProjects } from "./__tests__/project.js";
import { discoverDirectiveFiles } from "./discover.js";

afterAll(removeProjects);

const STEP = 'export async function work() {\n  "use step";\n  return 1;\n}\n';
const WORKFLOW = 'export async function flow() {\n  "use workflow";\n  return 1;\n}\n';
const pkg = (json: object) => JSON.stringify(json);

/** A monorepo: `app` (the project) depends on one workspace package and some installed ones. */
function monorepo(): { base: string; app: string } {
  const base = makeProject({
    "package.json": pkg({ name: "mono", private: true, workspaces: ["app", "packages/*"] }),
    "app/package.json": pkg({
      name: "app",
      dependencies: { "@acme/jobs": "*", "wf-flagged": "*", "wf-by-text": "*", plain: "*" },
      devDependencies: { "dev-tool": "*" },
    }),
    "app/tsconfig.json": `{
      // comments and trailing commas are allowed here
      "compilerOptions": { "baseUrl": ".", "paths": { "@shared/*": ["../shared/*"], }, },
    }`,
    "app/src/order.ts": WORKFLOW,
    "app/src/steps.mts": STEP,
    "app/src/ui.tsx": "export const View = () => <div>use step is just text here</div>;\n",
    "app/src/plain.ts": "export const x = 1;\n",
    "app/src/notes.js": 'const s = "use workflow"; // a string, not a directive\nexport default s;\n',
    "app/src/types.d.ts": "// use step\nexport {};\n",
    "app/dist/order.js": WORKFLOW,
    "app/.workflow-data/x.js": STEP,
    "app/.next/server.js": STEP,
    "shared/jobs.ts": STEP,
    "shared/unused-by-alias/../nothing.txt": "",
    "packages/jobs/package.json": pkg({ name: "@acme/jobs" }),
    "packages/jobs/src/index.ts": STEP,
    "packages/jobs/dist/index.js": STEP,
    "packages/other/package.json": pkg({ name: "@acme/other" }),
    "packages/other/src/index.ts": STEP,
    // installed in the workspace root, as npm hoists them
    "node_modules/wf-flagged/package.json": pkg({ name: "wf-flagged", workflow: { directives: true } }),
    "node_modules/wf-flagged/dist/steps.js": STEP,
    "node_modules/wf-by-text/package.json": pkg({ name: "wf-by-text" }),
    "node_modules/wf-by-text/lib/index.mjs": WORKFLOW,
    "node_modules/wf-by-text/node_modules/nested/index.js": STEP,
    "node_modules/plain/package.json": pkg({ name: "plain" }),
    "node_modules/plain/index.js": "module.exports = 1;\n",
    "node_modules/dev-tool/package.json": pkg({ name: "dev-tool" }),
    "node_modules/dev-tool/index.js": STEP,
    "node_modules/not-a-dependency/package.json": pkg({
      name: "not-a-dependency",
      workflow: { directives: true },
    }),
    "node_modules/not-a-dependency/index.js": STEP,
  });
  return { base, app: path.join(base, "app") };
}

describe("discoverDirectiveFiles", () => {
  it("finds project files, workspace packages, flagged and text-matching dependencies, and alias targets", async () => {
    const { base, app } = monorepo();
    const files = await discoverDirectiveFiles({ projectRoot: app });
    expect(files.map((f) => path.relative(base, f).split(path.sep).join("/"))).toEqual([
      "app/src/order.ts",
      "app/src/steps.mts",
      "node_modules/wf-by-text/lib/index.mjs",
      "node_modules/wf-flagged/dist/steps.js",
      "packages/jobs/src/index.ts",
      "shared/jobs.ts",
    ]);
  });

  it("applies include and exclude globs", async () => {
    const { app } = monorepo();
    const onlyOrder = await discoverDirectiveFiles({
      projectRoot: app,
      include: ["src/order.ts"],
      dependencies: false,
    });
    // `include` covers all project code, including folders reached through tsconfig aliases.
    expect(onlyOrder.map((f) => path.relative(app, f))).toEqual(["src/order.ts"]);
    const excluded = await discoverDirectiveFiles({
      projectRoot: app,
      exclude: ["*.mts", "../shared", "node_modules"],
    });
    expect(excluded.map((f) => path.basename(f)).sort()).toEqual(["index.ts", "order.ts"]);
  });

  it("notices a file that gains or loses its directive between calls", async () => {
    const root = makeProject({
      "package.json": pkg({ name: "p" }),
      "src/a.ts": STEP,
      "src/b.ts": "export {};\n",
    });
    expect((await discoverDirectiveFiles({ projectRoot: root })).map((f) => path.basename(f))).toEqual([
      "a.ts",
    ]);
    writeFileSync(path.join(root, "src/a.ts"), "export async function work() { return 1; }\n");
    writeFileSync(path.join(root, "src/b.ts"), WORKFLOW);
    // Same-second writes must still count as changes: move the mtimes explicitly.
    const later = new Date(Date.now() + 5_000);
    utimesSync(path.join(root, "src/a.ts"), later, later);
    utimesSync(path.join(root, "src/b.ts"), later, later);
    expect((await discoverDirectiveFiles({ projectRoot: root })).map((f) => path.basename(f))).toEqual([
      "b.ts",
    ]);
  });

  it("re-reads an installed package only when its package.json changes (a reinstall)", async () => {
    const root = makeProject({
      "package.json": pkg({ name: "p", dependencies: { lib: "*" } }),
      "node_modules/lib/package.json": pkg({ name: "lib" }),
      "node_modules/lib/index.js": STEP,
    });
    const names = async () =>
      (await discoverDirectiveFiles({ projectRoot: root })).map((f) => path.relative(root, f));
    expect(await names()).toEqual([path.join("node_modules", "lib", "index.js")]);
    writeFileSync(path.join(root, "node_modules/lib/index.js"), "export const x = 1;\n");
    expect(await names()).toHaveLength(1);
    writeFileSync(path.join(root, "node_modules/lib/package.json"), pkg({ name: "lib", version: "2.0.0" }));
    expect(await names()).toEqual([]);
  });

  it("keeps a project file whose directive the compiler rejects, so the build can report it", async () => {
    const root = makeProject({
      "package.json": pkg({ name: "p" }),
      "src/bad.ts": 'export function notAsync() {\n  "use step";\n  return 1;\n}\n',
    });
    expect((await discoverDirectiveFiles({ projectRoot: root })).map((f) => path.basename(f))).toEqual([
      "bad.ts",
    ]);
  });
});

describe("framework output folders", () => {
  it("are never walked: their bundled server code keeps the directives of the app's own files", async () => {
    const generated = [".svelte-kit", ".nuxt", ".output", ".nitro", ".astro", ".vercel", ".netlify"];
    const app = makeProject({
      "package.json": pkg({ name: "fw-app" }),
      "src/flow.ts": WORKFLOW,
      ...Object.fromEntries(generated.map((dir) => [`${dir}/server/chunks/flow.mjs`, WORKFLOW])),
    });
    const files = await discoverDirectiveFiles({ projectRoot: app, dependencies: false });
    expect(files.map((f) => path.relative(app, f))).toEqual([path.join("src", "flow.ts")]);
  });
});

describe("files outside the root reached by relative imports", () => {
  it("are discovered, transitively, while unrelated sibling files stay out", async () => {
    const base = makeProject({
      "app/package.json": pkg({ name: "app" }),
      "app/src/main.ts": 'import { flow } from "../../lib/entry.js";\nexport const run = flow;\n',
      "lib/entry.ts": 'export { flow } from "./flows";\nexport * from "./more/index.js";\n',
      "lib/flows.ts": WORKFLOW,
      "lib/more/index.ts": STEP,
      "lib/unimported.ts": STEP,
    });
    const files = await discoverDirectiveFiles({ projectRoot: path.join(base, "app") });
    expect(files.map((f) => path.relative(base, f).split(path.sep).join("/"))).toEqual([
      "lib/flows.ts",
      "lib/more/index.ts",
    ]);
  });
});
