import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { workflow as astroWorkflow } from "./astro.js";
import nitroModule, { type NitroLike } from "./nitro.js";
import nuxtModule from "./nuxt.js";
import { PLUGIN_NAME } from "./plugin.js";
import { ROUTES_MODULE } from "./routes-module.js";
import { workflowPlugin, writeSvelteKitRoute } from "./sveltekit.js";

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
function tmpApp(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "wfkit-fw-unit-"));
  dirs.push(dir);
  writeFileSync(path.join(dir, "package.json"), "{}");
  return dir;
}

function fakeNitro(rootDir: string, workflow?: NitroLike["options"]["workflow"]) {
  const hooks: Array<(nitro: NitroLike, config: { plugins?: unknown }) => void> = [];
  const nitro: NitroLike = {
    options: {
      rootDir,
      ...(workflow ? { workflow } : {}),
      handlers: [],
      virtual: {},
      moduleSideEffects: ["unenv/polyfill/"],
      externals: { inline: ["#"] },
    },
    hooks: { hook: (_name, fn) => hooks.push(fn) },
  };
  const rollupPlugins = (existing: unknown[]) => {
    const config = { plugins: existing };
    for (const hook of hooks) hook(nitro, config);
    return config.plugins as Array<{ name?: string }>;
  };
  return { nitro, rollupPlugins };
}

describe("workflow/sveltekit", () => {
  it("writes one catch-all route for every method, beside a .gitignore, and leaves an unchanged one alone", () => {
    const app = tmpApp();
    const file = writeSvelteKitRoute(app);
    expect(file).toBe(path.join(app, "src/routes/.well-known/workflow/v1/[...path]/+server.js"));
    const source = readFileSync(file, "utf8");
    expect(source).toContain(`from "${ROUTES_MODULE}"`);
    for (const method of ["fallback", "GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
      expect(source).toContain(`export const ${method} `);
    expect(readFileSync(path.join(app, "src/routes/.well-known/workflow/.gitignore"), "utf8")).toContain("*");
    const before = statSync(file).mtimeMs;
    writeSvelteKitRoute(app);
    expect(statSync(file).mtimeMs).toBe(before);
    expect(writeSvelteKitRoute(app, "app/routes")).toContain(path.join("app", "routes", ".well-known"));
  });

  it("returns the workflow Vite plugin, the route written where SvelteKit looks: the working directory", () => {
    const app = tmpApp();
    const cwd = process.cwd();
    process.chdir(app);
    try {
      const plugins = workflowPlugin({ projectRoot: path.dirname(app) });
      expect(plugins.map((p) => (p as { name: string }).name)).toEqual([PLUGIN_NAME]);
    } finally {
      process.chdir(cwd);
    }
    expect(statSync(path.join(app, "src/routes/.well-known/workflow/v1/[...path]/+server.js")).isFile()).toBe(
      true,
    );
  });
});

describe("workflow/astro", () => {
  it("adds the Vite plugin and injects an on-demand route whose module it writes into the output folder", () => {
    const app = tmpApp();
    const updates: unknown[] = [];
    const routes: Array<{ pattern: string; entrypoint: string; prerender?: boolean }> = [];
    astroWorkflow().hooks["astro:config:setup"]({
      config: { root: pathToFileURL(`${app}/`) },
      updateConfig: (config) => updates.push(config),
      injectRoute: (route) => routes.push(route),
    });
    expect(updates).toEqual([{ vite: { plugins: [expect.objectContaining({ name: PLUGIN_NAME })] } }]);
    expect(routes).toEqual([
      {
        pattern: "/.well-known/workflow/v1/[...path]",
        entrypoint: path.join(app, ".workflow", "astro-route.mjs"),
        prerender: false,
      },
    ]);
    const source = readFileSync(routes[0]!.entrypoint, "utf8");
    expect(source).toContain("export const ALL =");
    expect(source).toContain("export const prerender = false;");
  });
});

describe("workflow/nitro", () => {
  it("registers an eager handler, keeps the server entry (bundled, with its side effects), and puts the plugin first", () => {
    const app = tmpApp();
    const { nitro, rollupPlugins } = fakeNitro(app, { outDir: "build/wf" });
    nitroModule.setup(nitro);
    expect(nitro.options.handlers).toEqual([
      { route: "/.well-known/workflow/v1/**", handler: "#workflow/handler", lazy: false },
    ]);
    expect(nitro.options.virtual["#workflow/handler"]).toContain(`from "${ROUTES_MODULE}"`);
    const outDir = `${path.join(app, "build", "wf")}${path.sep}`;
    expect(nitro.options.moduleSideEffects).toEqual(["unenv/polyfill/", outDir]);
    expect(nitro.options.externals?.inline).toEqual(["#", outDir]);
    const plugins = rollupPlugins([{ name: "nitro:esbuild" }]);
    expect(plugins.map((p) => p.name)).toEqual([PLUGIN_NAME, "nitro:esbuild"]);
  });
});

describe("workflow/nuxt", () => {
  it("installs the Nitro module into Nuxt's Nitro with the `workflow` options", () => {
    const app = tmpApp();
    const nuxt = {
      options: { rootDir: app, workflow: { outDir: ".wf" }, nitro: { modules: ["other"] as unknown[] } },
    };
    nuxtModule(undefined, nuxt);
    expect(nuxt.options.nitro.modules).toHaveLength(2);
    const installed = nuxt.options.nitro.modules[1] as { name: string; setup: (nitro: NitroLike) => void };
    expect(installed.name).toBe("workflow");
    const { nitro } = fakeNitro(app);
    installed.setup(nitro);
    expect(nitro.options.moduleSideEffects).toContain(`${path.join(app, ".wf")}${path.sep}`);
  });
});
