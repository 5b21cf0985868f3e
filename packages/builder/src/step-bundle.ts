/**
 * The step bundle: one ES module for Node that registers every step of the project in
 * `globalThis[Symbol.for("wfkit.steps")]`. Directive files are compiled in step mode (step bodies kept and
 * registered, nested steps hoisted, workflow bodies turned into throws); bare package imports stay external
 * by default, so `node_modules` load as they are at run time. Packages that hold directive files are the
 * exception: their files must be compiled to register their steps, so they are bundled.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import type { Plugin } from "esbuild";
import { type BundleResult, baseOptions, collectOutput, entryPlugin, runEsbuild } from "./bundle.js";
import { type CompiledModule, compilePlugin } from "./compile-plugin.js";
import { isNodeBuiltin } from "./node-builtins.js";

export interface StepBundleOptions {
  projectRoot: string;
  /** Directive files (absolute, or relative to `projectRoot`), usually from `discoverDirectiveFiles`. */
  entries: string[];
  /** Where to write the bundle (`.mjs` or `.js` in a `"type": "module"` folder) and its `.map`. */
  outfile: string;
  /**
   * Which bare imports stay external: `true` (default) every package except those holding an entry;
   * a list: only these packages (and their subpaths); `false`: bundle everything (built-ins stay external).
   */
  external?: boolean | string[];
  minify?: boolean;
  /** A tsconfig to use for every file; by default esbuild reads the nearest `tsconfig.json` of each file. */
  tsconfig?: string;
  /** Extra package.json export conditions, tried before `import`/`default` (e.g. `["source"]`). */
  conditions?: string[];
}

/**
 * Bundled CommonJS dependencies call `require`, which an ES module lacks; this defines it. The alias keeps
 * the banner's import from colliding with a bundled module's own `createRequire`.
 */
const REQUIRE_SHIM =
  'import { createRequire as __wfkitCreateRequire } from "node:module";\nconst require = __wfkitCreateRequire(import.meta.url);';

/** Builds and writes the step bundle; throws `BuildError` on compiler or resolve errors. */
export async function buildStepBundle(options: StepBundleOptions): Promise<BundleResult> {
  const projectRoot = path.resolve(options.projectRoot);
  const outfile = path.resolve(projectRoot, options.outfile);
  const compiled = new Map<string, CompiledModule>();
  const entries = options.entries.map((e) => path.resolve(projectRoot, e));
  const result = await runEsbuild("Building the step bundle", {
    ...baseOptions(projectRoot, outfile, true, options.minify ?? false, options.tsconfig),
    format: "esm",
    platform: "node",
    target: "node20",
    conditions: options.conditions ?? [],
    banner: { js: REQUIRE_SHIM },
    plugins: [
      entryPlugin(projectRoot, entries),
      externalPackages(options.external ?? true, packagesOf(entries, projectRoot)),
      compilePlugin(projectRoot, "step", compiled),
    ],
  });
  return collectOutput(result, projectRoot, outfile, true, compiled);
}

/** `@scope/name/sub` → `@scope/name`; `name/sub` → `name`. */
export function packageName(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
}

function externalPackages(external: boolean | string[], bundled: Set<string>): Plugin {
  return {
    name: "wfkit-external-packages",
    setup(b) {
      // Bare specifiers only: not relative, not absolute, not a virtual namespace.
      b.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.pluginData?.wfkitProbe || path.isAbsolute(args.path)) return undefined;
        if (isNodeBuiltin(args.path)) return { path: args.path, external: true };
        if (external === false) return undefined;
        const name = packageName(args.path);
        if (Array.isArray(external))
          return external.includes(name) ? { path: args.path, external: true } : undefined;
        if (bundled.has(name)) return undefined;
        // A tsconfig `paths` alias looks like a package (`@lib/util`) but is project code: resolve it and
        // keep it external only when it lands in a package of that name.
        const resolved = await b.resolve(args.path, {
          kind: args.kind,
          importer: args.importer,
          resolveDir: args.resolveDir,
          pluginData: { wfkitProbe: true },
        });
        if (resolved.errors.length > 0) return undefined; // let esbuild report it the usual way
        if (resolved.external || isPackageFile(resolved.path, name))
          return { path: args.path, external: true };
        return { path: resolved.path, namespace: resolved.namespace, sideEffects: resolved.sideEffects };
      });
    },
  };
}

/** True when `file` lies in `node_modules`, or under a folder whose package.json is named `name`. */
function isPackageFile(file: string, name: string): boolean {
  if (file.split(path.sep).includes("node_modules")) return true;
  return nearestPackage(file)?.name === name;
}

/** Names of the packages (other than the project itself) that hold entries: those must be compiled. */
function packagesOf(entries: string[], projectRoot: string): Set<string> {
  const own = readPackageJson(path.join(projectRoot, "package.json"))?.name;
  const names = new Set<string>();
  for (const entry of entries) {
    const pkg = nearestPackage(entry);
    if (pkg?.name && pkg.name !== own) names.add(pkg.name);
  }
  return names;
}

function nearestPackage(file: string): { name?: string } | undefined {
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, "package.json");
    if (existsSync(manifest)) return readPackageJson(manifest);
    if (path.dirname(dir) === dir) return undefined;
  }
}

function readPackageJson(file: string): { name?: string } | undefined {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as { name?: string };
  } catch {
    return undefined;
  }
}
