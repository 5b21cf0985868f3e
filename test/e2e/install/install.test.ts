/**
 * Installs the packages as a user would, outside this repository: every public package is packed
 * (`scripts/pack.mjs`, the tarballs `npm publish` would upload), a fresh app in the system's temporary folder
 * depends on the facade under the name its code imports (`workflow`, an alias of `@wfkit/workflow`), and the
 * app runs a workflow with `workflow/register` and with the README's esbuild recipe, installed by npm (flat
 * `node_modules`) and by pnpm (isolated, symlinked `node_modules`).
 *
 * The registry is stood in for by `overrides` that point every `@wfkit/*` dependency at its tarball; every
 * other dependency (`@swc/core`, esbuild, …) comes from the npm registry or its cache, as for a user.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error: a plain ESM script without declarations
import { packAll } from "../../../scripts/pack.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
// pnpm exports only its package.json; the CLI sits beside it.
const pnpm = path.join(path.dirname(require.resolve("pnpm")), "bin/pnpm.cjs");
const esbuildVersion: string = require("esbuild/package.json").version;

interface Packed {
  name: string;
  published: string;
  version: string;
  file: string;
}

let root: string;
let packed: Packed[];

beforeAll(() => {
  root = mkdtempSync(path.join(os.tmpdir(), "wfkit-install-"));
  packed = packAll(path.join(root, "tarballs"));
}, 180_000);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

/** A copy of the fixture app whose package.json installs `workflow` and every `@wfkit/*` from the tarballs. */
function makeApp(label: string, manager: "npm" | "pnpm"): string {
  const dir = path.join(root, label);
  cpSync(path.join(here, "app"), dir, { recursive: true });
  const facade = packed.find((p) => p.published === "@wfkit/workflow")!;
  const overrides = Object.fromEntries(
    packed.filter((p) => p !== facade).map((p) => [p.published, `file:${p.file}`]),
  );
  const pkg: Record<string, unknown> = {
    name: `wfkit-install-${label}`,
    private: true,
    type: "module",
    dependencies: { workflow: `file:${facade.file}` },
    devDependencies: { esbuild: esbuildVersion },
  };
  if (manager === "npm") pkg.overrides = overrides;
  else pkg.pnpm = { overrides, onlyBuiltDependencies: ["esbuild", "@swc/core"] };
  writeFileSync(path.join(dir, "package.json"), `${JSON.stringify(pkg, null, 2)}\n`);
  return dir;
}

function run(cmd: string, args: string[], cwd: string, timeout = 120_000) {
  const env = { ...process.env, NODE_OPTIONS: "", NO_COLOR: "1", WORKFLOW_TARGET_WORLD: "local" };
  delete env.WORKFLOW_LOCAL_DATA_DIR;
  delete env.INIT_CWD;
  const r = spawnSync(cmd, args, { cwd, env, encoding: "utf8", timeout });
  const output = `$ ${cmd} ${args.join(" ")}\nexit ${r.status}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
  return { ...r, output };
}

/** What the fixture app prints when its run went through a step, a sleep and its webhook. */
function expectWorkflowRan(r: ReturnType<typeof run>) {
  expect(r.status, r.output).toBe(0);
  expect(r.stdout, r.output).toContain("WEBHOOK_STATUS 202");
  expect(r.stdout, r.output).toContain("RESULT hello ada, bob!");
}

describe("the packed packages", () => {
  it("are public, licensed, and hold no tests", () => {
    expect(packed.map((p) => p.published).sort()).toContain("@wfkit/workflow");
    for (const p of packed) {
      const files = execFileSync("tar", ["-tzf", p.file], { encoding: "utf8" }).split("\n");
      expect(files, p.file).toContain("package/LICENSE");
      expect(files, p.file).toContain("package/package.json");
      expect(
        files.filter((f) => /\.test\.|__tests__/.test(f)),
        p.file,
      ).toEqual([]);
      const manifest = JSON.parse(
        execFileSync("tar", ["-xzOf", p.file, "package/package.json"], { encoding: "utf8" }),
      );
      expect(manifest.private, p.name).toBeUndefined();
      expect(manifest.description, p.name).toEqual(expect.any(String));
      expect(manifest.engines?.node, p.name).toEqual(expect.any(String));
      for (const [subpath, target] of Object.entries(manifest.exports ?? {}))
        expect((target as { types?: string }).types, `${p.name} ${subpath}`).toEqual(expect.any(String));
    }
  });
});

describe.each([["npm" as const], ["pnpm" as const]])("an app installed with %s", (manager) => {
  let app: string;
  beforeAll(() => {
    app = makeApp(manager, manager);
    const install =
      manager === "npm"
        ? run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline"], app, 300_000)
        : run(process.execPath, [pnpm, "install", "--prefer-offline"], app, 300_000);
    if (install.status !== 0) throw new Error(install.output);
  }, 320_000);

  it("runs a workflow with workflow/register, and `wf` answers", { timeout: 120_000 }, () => {
    expectWorkflowRan(run(process.execPath, ["--import", "workflow/register", "src/main.ts"], app));
    const version = run(
      process.execPath,
      [path.join(app, "node_modules/workflow/bin/wf.js"), "--version"],
      app,
    );
    expect(version.status, version.output).toBe(0);
    expect(version.stdout.trim(), version.output).toMatch(/^\d+\.\d+\.\d+/);
    const runs = run(
      process.execPath,
      [path.join(app, "node_modules/workflow/bin/wf.js"), "inspect", "runs"],
      app,
    );
    expect(runs.stdout, runs.output).toContain("welcome");
  });

  it("builds with the README's esbuild recipe, warning about nothing, into a bundle that runs on its own", {
    timeout: 120_000,
  }, () => {
    const build = run(process.execPath, ["build.mjs"], app);
    expect(build.status, build.output).toBe(0);
    expect(build.stderr, build.output).not.toMatch(/WARNING|\[workflow\]/);
    // The bundle alone, copied away from node_modules, runs on the default (local) world.
    const elsewhere = mkdtempSync(path.join(root, `${manager}-bundle-`));
    cpSync(path.join(app, "dist/app.js"), path.join(elsewhere, "app.js"));
    expectWorkflowRan(run(process.execPath, ["app.js"], elsewhere));
    expect(readFileSync(path.join(elsewhere, "app.js"), "utf8")).not.toMatch(/from "@wfkit\//);
  });
});
