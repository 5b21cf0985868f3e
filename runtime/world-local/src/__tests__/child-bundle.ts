/**
 * Child processes in tests run this package's TypeScript sources. Node 20 cannot strip types, so each
 * child script is bundled with esbuild into one plain ESM file first (resolving workspace packages to
 * their sources), which also makes the children start in tens of milliseconds.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildSync } from "esbuild";

const bundles = new Map<string, string>();

/** Path of a runnable `.mjs` for `__tests__/<name>.ts`, built once per test process. */
export function childScript(name: string): string {
  const cached = bundles.get(name);
  if (cached) return cached;
  const entry = fileURLToPath(new URL(`./${name}.ts`, import.meta.url));
  const outfile = join(mkdtempSync(join(tmpdir(), "wfkit-child-")), `${basename(name)}.mjs`);
  buildSync({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    conditions: ["source"],
    logLevel: "silent",
  });
  bundles.set(name, outfile);
  return outfile;
}
