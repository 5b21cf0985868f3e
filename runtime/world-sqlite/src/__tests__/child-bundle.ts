/**
 * Child processes in tests run this package's TypeScript sources. Node 20 cannot strip types, so the child
 * script is bundled with esbuild into one plain ESM file first (workspace packages resolved to their sources).
 * better-sqlite3 stays outside the bundle (it loads a native addon relative to its own files) and is imported
 * by its absolute path, because the bundle lives in a temporary folder from which the package would not resolve.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

let bundle: Promise<string> | undefined;

/** Path of a runnable `.mjs` of `__tests__/child.ts`, built once per test process. */
export function childScript(): Promise<string> {
  bundle ??= bundleChild();
  return bundle;
}

async function bundleChild(): Promise<string> {
  const entry = fileURLToPath(new URL("./child.ts", import.meta.url));
  const driver = createRequire(import.meta.url).resolve("better-sqlite3");
  const dir = mkdtempSync(join(tmpdir(), "wfkit-sqlite-child-"));
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  const outfile = join(dir, "child.mjs");
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    conditions: ["source"],
    logLevel: "silent",
    plugins: [
      {
        name: "native-driver",
        setup(build) {
          build.onResolve({ filter: /^better-sqlite3$/ }, () => ({ path: driver, external: true }));
        },
      },
    ],
  });
  return outfile;
}
