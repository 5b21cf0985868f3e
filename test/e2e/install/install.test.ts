/**
 * Installs the packages as a user would, outside this repository: every public package is packed
 * (`scripts/pack.mjs`, the tarballs `npm publish` would upload), a fresh app in the system's temporary folder
 * depends on the facade under the name its code imports (`workflow`, an alias of `@wfkit/workflow`), and the
 * app runs a workflow with `workflow/register`, with the README's esbuild recipe, from a Vite server build
 * (and `vite preview` serves the endpoints), from a Next.js app built with `withWorkflow`, and from Nitro,
 * SvelteKit, Astro and Nuxt apps built with their integrations, installed by npm (flat `node_modules`) and
 * by pnpm (isolated, symlinked `node_modules`, where Next must still leave `workflow` to Node).
 *
 * The registry is stood in for by `overrides` that point every `@wfkit/*` dependency at its tarball
 * (`pointAppAtTarballs`, what `node scripts/pack.mjs --app <dir>` writes); every
 * other dependency (`@swc/core`, esbuild, …) comes from the npm registry or its cache, as for a user.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error: a plain ESM script without declarations
import { packAll, pointAppAtTarballs } from "../../../scripts/pack.mjs";
import { driveOrder, startServer } from "../frameworks/support.js";
import { freePort, type Project } from "../support/process.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
// pnpm exports only its package.json; the CLI sits beside it.
const pnpm = path.join(path.dirname(require.resolve("pnpm")), "bin/pnpm.cjs");
const esbuildVersion: string = require("esbuild/package.json").version;
const viteVersion: string = require("vite/package.json").version;
const nitroVersion: string = require("nitropack/package.json").version;
// The framework versions test/e2e/frameworks runs its fixtures with.
const testDevDeps = (
  JSON.parse(readFileSync(path.join(here, "../../package.json"), "utf8")) as {
    devDependencies: Record<string, string>;
  }
).devDependencies;
const FRAMEWORK_PACKAGES = [
  "@sveltejs/kit",
  "@sveltejs/adapter-node",
  "@sveltejs/vite-plugin-svelte",
  "svelte",
  "astro",
  "@astrojs/node",
  "nuxt",
];
/**
 * The version installed in the test workspace where the package exports its package.json, else the range:
 * a fresh resolution of a range can pick a release that needs a newer Node.js (Nuxt 4.4.8's cssnano 8 needs 22).
 */
function testedVersion(name: string): string {
  try {
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return testDevDeps[name]!;
  }
}
// The versions the repository's Next example is built with.
const nextExample = JSON.parse(
  readFileSync(path.join(here, "../../../examples/next-app/package.json"), "utf8"),
) as { dependencies: Record<string, string> };

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
  const pkg: Record<string, unknown> = {
    name: `wfkit-install-${label}`,
    private: true,
    type: "module",
    dependencies: { workflow: `file:${facade.file}` },
    devDependencies: {
      esbuild: esbuildVersion,
      vite: viteVersion,
      nitropack: nitroVersion,
      next: nextExample.dependencies.next,
      react: nextExample.dependencies.react,
      "react-dom": nextExample.dependencies["react-dom"],
      ...Object.fromEntries(FRAMEWORK_PACKAGES.map((name) => [name, testedVersion(name)])),
    },
  };
  if (manager === "pnpm") pkg.pnpm = { onlyBuiltDependencies: ["esbuild", "@swc/core"] };
  writeFileSync(path.join(dir, "package.json"), `${JSON.stringify(pkg, null, 2)}\n`);
  // As `node scripts/pack.mjs --app <dir>` does for a user's app.
  pointAppAtTarballs(dir, packed);
  return dir;
}

function run(cmd: string, args: string[], cwd: string, timeout = 120_000) {
  const r = spawnSync(cmd, args, { cwd, env: appEnv(), encoding: "utf8", timeout });
  const output = `$ ${cmd} ${args.join(" ")}\nexit ${r.status}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
  return { ...r, output };
}

function appEnv(): NodeJS.ProcessEnv {
  const env = {
    ...process.env,
    NODE_OPTIONS: "",
    NO_COLOR: "1",
    NEXT_TELEMETRY_DISABLED: "1",
    NUXT_TELEMETRY_DISABLED: "1",
    ASTRO_TELEMETRY_DISABLED: "1",
    WORKFLOW_TARGET_WORLD: "local",
  };
  for (const key of ["WORKFLOW_LOCAL_DATA_DIR", "WORKFLOW_BASE_URL", "INIT_CWD", "NODE_ENV", "PORT"])
    delete env[key];
  return env;
}

/** A server of the app on a free port, until the test stops it; resolves once a stdout line matches `ready`. */
async function serve(
  args: string[],
  cwd: string,
  ready: RegExp,
  env: Record<string, string> = {},
): Promise<{ base: string; stop: () => Promise<string> }> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    args.map((a) => a.replace("$PORT", String(port))),
    {
      cwd,
      env: {
        ...appEnv(),
        PORT: String(port),
        ...Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.replace("$PORT", String(port))])),
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  const exited = new Promise<void>((resolve) => child.on("close", () => resolve()));
  const stop = async () => {
    child.kill("SIGTERM");
    await exited;
    return output;
  };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      // A server that never became ready must not outlive the test.
      void stop().then(() => reject(new Error(`no ${ready} within 60 s:\n${output}`)));
    }, 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk;
      if (ready.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    void exited.then(() => reject(new Error(`the server exited:\n${output}`)));
  });
  return { base: `http://127.0.0.1:${port}`, stop };
}

/** What the fixture app prints when its run went through a step, a sleep and its webhook. */
function expectWorkflowRan(r: ReturnType<typeof run>) {
  expect(r.status, r.output).toBe(0);
  expect(r.stdout, r.output).toContain("WEBHOOK_STATUS 202");
  expect(r.stdout, r.output).toContain("RESULT hello ada, bob!");
}

/** The app's `POST /api/welcome` route runs the workflow (a step, a webhook it posts to itself, the result); stops the server. */
async function expectWelcomeRan(server: { base: string; stop(): Promise<string> }) {
  try {
    const answer = await fetch(`${server.base}/api/welcome`, {
      method: "POST",
      signal: AbortSignal.timeout(60_000),
    });
    const text = await answer.text();
    expect(answer.status, `${text}\n${await server.stop()}`).toBe(200);
    expect(JSON.parse(text)).toEqual({ webhookStatus: 202, result: "hello ada, bob!" });
  } finally {
    await server.stop();
  }
}

/**
 * The SvelteKit, Astro and Nuxt fixtures of `test/e2e/frameworks`, each in its own folder beside the installed
 * app (inside it, the app's Next and Vite builds would find their files) and resolving packages from the
 * app's `node_modules` through a symlink: one install serves them all.
 */
const FRAMEWORKS = [
  {
    name: "sveltekit",
    sharedDir: "src/lib",
    build: "vite/bin/vite.js",
    server: ["build/index.js"],
    ready: (port: number) => new RegExp(`Listening on http://127\\.0\\.0\\.1:${port}`),
  },
  {
    name: "astro",
    sharedDir: "src/lib",
    build: "astro/astro.js",
    server: ["dist/server/entry.mjs"],
    ready: (port: number) => new RegExp(`listening on http://127\\.0\\.0\\.1:${port}`),
  },
  {
    name: "nuxt",
    sharedDir: "server/lib",
    build: "nuxt/bin/nuxt.mjs",
    server: [".output/server/index.mjs"],
    ready: (port: number) => new RegExp(`Listening on http://127\\.0\\.0\\.1:${port}`),
  },
];

/** A copy of `test/e2e/frameworks/fixtures/<name>` that resolves packages from `app`'s `node_modules`. */
function makeFrameworkApp(app: string, name: string, sharedDir: string): Project {
  const parent = `${app}-frameworks`;
  mkdirSync(parent, { recursive: true });
  try {
    symlinkSync(path.join(app, "node_modules"), path.join(parent, "node_modules"), "dir");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  const dir = path.join(parent, name);
  const fixtures = path.join(here, "../frameworks/fixtures");
  cpSync(path.join(fixtures, name), dir, { recursive: true });
  cpSync(path.join(fixtures, "shared"), path.join(dir, sharedDir), { recursive: true });
  return {
    dir,
    dataDir: path.join(dir, ".workflow-data"),
    file: (relative) => path.join(dir, relative),
    cleanup: () => {}, // under `root`, removed with it
  };
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

  it("runs a workflow from a Vite server build, and vite preview serves the endpoints", {
    timeout: 180_000,
  }, async () => {
    const vite = path.join(app, "node_modules/vite/bin/vite.js");
    const build = run(process.execPath, [vite, "build"], app);
    expect(build.status, build.output).toBe(0);
    expectWorkflowRan(run(process.execPath, ["dist/server/main.js"], app));
    const preview = await serve(
      [vite, "preview", "--port", "$PORT", "--strictPort", "--host", "127.0.0.1"],
      app,
      /127\.0\.0\.1:\d+/,
    );
    try {
      const flow = await fetch(`${preview.base}/.well-known/workflow/v1/flow`, {
        method: "POST",
        body: JSON.stringify({ runId: "wrun_nope" }),
      });
      expect(flow.status, await preview.stop()).toBe(404);
      expect(await flow.json()).toEqual({ error: 'no run with ID "wrun_nope" exists in this world' });
    } finally {
      await preview.stop();
    }
  });

  it("runs a workflow in a Next.js app built with withWorkflow, which leaves the runtime to Node", {
    timeout: 300_000,
  }, async () => {
    const next = path.join(app, "node_modules/next/dist/bin/next");
    const build = run(process.execPath, [next, "build"], app, 240_000);
    expect(build.status, build.output).toBe(0);
    // Bundled, the runtime would be a second instance beside the one the generated routes load.
    const serverFiles = readdirSync(path.join(app, ".next/server"), { recursive: true, encoding: "utf8" });
    const bundledEngine = serverFiles.filter(
      (f) =>
        f.endsWith(".js") &&
        readFileSync(path.join(app, ".next/server", f), "utf8").includes(
          "no workflow code is available in this process",
        ),
    );
    expect(bundledEngine).toEqual([]);
    const server = await serve(
      [next, "start", "--port", "$PORT", "--hostname", "127.0.0.1"],
      app,
      /Ready|started server/i,
    );
    await expectWelcomeRan(server);
  });

  it.each(FRAMEWORKS)(
    "runs an order in a $name app built with its integration",
    {
      timeout: 300_000,
    },
    async ({ name, sharedDir, build, server: serverArgs, ready }) => {
      const project = makeFrameworkApp(app, name, sharedDir);
      const bin = path.join(app, "node_modules", build);
      const built = run(process.execPath, [bin, "build"], project.dir, 240_000);
      expect(built.status, built.output).toBe(0);
      const server = await startServer(
        project,
        () => serverArgs,
        ready,
        () => ({ NO_COLOR: "1" }),
      );
      try {
        await driveOrder(server, `ord-${manager}-${name}`);
      } finally {
        await server.stop();
      }
    },
  );

  it("runs a workflow in a Nitro app built with workflow/nitro (node-server output)", {
    timeout: 240_000,
  }, async () => {
    const nitro = path.join(app, "node_modules/nitropack/dist/cli/index.mjs");
    const build = run(process.execPath, [nitro, "build"], app, 180_000);
    expect(build.status, build.output).toBe(0);
    const server = await serve([".output/server/index.mjs"], app, /Listening on/, {
      HOST: "127.0.0.1",
      WORKFLOW_BASE_URL: "http://127.0.0.1:$PORT",
    });
    await expectWelcomeRan(server);
  });
});
