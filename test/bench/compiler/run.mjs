#!/usr/bin/env node
/**
 * Compiler benchmark: our compiler against WDK's (`@workflow/swc-plugin`, the wasm plugin its builders pass to
 * `@swc/core`'s `transform`, on the `@swc/core` version it pins) on the same generated file (generate.mjs), per
 * mode. Warm: median (min–max) of `--iterations` calls in one process after 30 unmeasured ones, in ms per 1,000
 * lines. Cold: the first call in a fresh process, `--runs` fresh processes (median, min–max), in ms for the file.
 * Uses the BUILT compiler (`npx turbo run build`); WDK's plugin comes from the peers cache
 * (`node test/bench/peers/install.mjs swc`) and is reported as skipped when missing. Prints JSON.
 *
 *   node test/bench/compiler/run.mjs [--iterations 200] [--runs 3]
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { summarize } from "../peers/workloads.mjs";
import { generateSource } from "./generate.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const compilerUrl = pathToFileURL(path.resolve(here, "../../../packages/compiler/dist/index.js")).href;
const SWC_PEER = path.resolve(here, "../.peers/swc");
/** swc keeps compiled wasm plugins in a cache folder; the warm runs fill this one, the cold runs reuse it. */
const SWC_CACHE = path.join(SWC_PEER, ".swc-cache");
const DATA_ROOT = path.resolve(here, "../.data");
const modes = ["workflow", "step", "client"];
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const iterations = arg("--iterations", 200);
const runs = arg("--runs", 3);
const ourOptions = (mode) => ({ filename: "/project/src/orders.ts", projectRoot: "/project", mode });

/** How WDK's builders call the plugin (packages/builders/src/apply-swc-transform.ts, filename relative to the project). */
const swcOptions = (plugin, mode, cacheRoot) => ({
  filename: "src/orders.ts",
  swcrc: false,
  jsc: {
    parser: { syntax: "typescript", tsx: false },
    target: "es2022",
    experimental: { cacheRoot, plugins: [[plugin, { mode }]] },
    transform: { react: { runtime: "preserve" } },
  },
  sourceMaps: false,
  minify: false,
});

async function loadOurs() {
  try {
    const { transform } = await import(compilerUrl);
    return (source, mode) => transform(source, ourOptions(mode));
  } catch (error) {
    throw new Error(
      `Cannot load the built compiler (${compilerUrl}); run \`npx turbo run build\` first. ${error.message}`,
    );
  }
}

/** WDK's plugin through its pinned @swc/core, or undefined when the peers cache does not have it. */
function loadWdk(cacheRoot = SWC_CACHE) {
  if (!existsSync(path.join(SWC_PEER, "node_modules", "@workflow", "swc-plugin"))) return undefined;
  const require = createRequire(path.join(SWC_PEER, "package.json"));
  const swc = require("@swc/core");
  const plugin = require.resolve("@workflow/swc-plugin");
  // Async `transform`, as WDK's builders call it.
  return (source, mode) => swc.transform(source, swcOptions(plugin, mode, cacheRoot));
}

export function swcVersions() {
  const read = (pkg) => {
    const file = path.join(SWC_PEER, "node_modules", pkg, "package.json");
    return existsSync(file) ? JSON.parse(readFileSync(file, "utf8")).version : undefined;
  };
  return { "@workflow/swc-plugin": read("@workflow/swc-plugin"), "@swc/core": read("@swc/core") };
}

/** Child mode: one fresh process, one import, one transform; prints its timings. */
async function cold(system, mode, cacheRoot) {
  const t0 = performance.now();
  const transform = system === "ours" ? await loadOurs() : loadWdk(cacheRoot);
  const t1 = performance.now();
  const source = generateSource();
  const t2 = performance.now();
  await transform(source, mode);
  const t3 = performance.now();
  process.stdout.write(JSON.stringify({ import_ms: t1 - t0, first_call_ms: t3 - t2 }));
}

const coldRun = (system, mode, cacheRoot = SWC_CACHE) =>
  JSON.parse(execFileSync(process.execPath, [SELF, "--cold", system, mode, cacheRoot], { encoding: "utf8" }));

/** What each compiler found in the file: a wrong count means the two did not do the same job. */
async function checkOutput(system, transform, source) {
  const out = await transform(source, "workflow");
  if (system === "ours") {
    if (out.workflows.length !== 20 || out.steps.length !== 60 || out.diagnostics.length)
      throw new Error(
        `generated file compiled unexpectedly: ${out.workflows.length} workflows, ${out.steps.length} steps, ${JSON.stringify(out.diagnostics)}`,
      );
    return { workflows: out.workflows.length, steps: out.steps.length };
  }
  const manifest = JSON.parse(out.code.match(/\/\*\*__internal_workflows({.*?})\*\//s)?.[1] ?? "{}");
  const count = (kind) => Object.values(manifest[kind] ?? {}).reduce((n, f) => n + Object.keys(f).length, 0);
  if (count("workflows") !== 20)
    throw new Error(`@workflow/swc-plugin found ${count("workflows")} workflows, expected 20`);
  return { workflows: count("workflows"), steps: count("steps") };
}

async function main() {
  const source = generateSource();
  const lines = source.split("\n").length;
  const per1000 = (ms) => (ms * 1000) / lines;
  const systems = { ours: await loadOurs(), wdk: loadWdk() };
  const results = [];
  const found = {};
  for (const [system, transform] of Object.entries(systems)) {
    if (!transform) {
      for (const mode of modes)
        for (const kind of ["warm", "cold"])
          results.push({
            system,
            workload: `compiler-${mode}-${kind}`,
            skipped: "@workflow/swc-plugin is not installed: run `node test/bench/peers/install.mjs swc`",
          });
      continue;
    }
    found[system] = await checkOutput(system, transform, source);
    for (const mode of modes) {
      for (let i = 0; i < 30; i++) await transform(source, mode);
      const samples = [];
      for (let i = 0; i < iterations; i++) {
        const t = performance.now();
        await transform(source, mode);
        samples.push(per1000(performance.now() - t));
      }
      results.push({
        system,
        ...summarize(`compiler-${mode}-warm`, samples, { unit: "ms per 1,000 lines", lines }),
      });
      const colds = Array.from({ length: runs }, () => coldRun(system, mode));
      const row = summarize(
        `compiler-${mode}-cold`,
        colds.map((c) => c.first_call_ms),
        { unit: "ms (first call, whole file)", lines },
      );
      row.import = summarize(
        "import",
        colds.map((c) => c.import_ms),
      );
      if (system === "wdk") {
        // swc compiles the wasm plugin on first use and caches the result on disk (`jsc.experimental.cacheRoot`);
        // the row above reuses that cache, as every build after the first does. This is the very first build.
        mkdirSync(DATA_ROOT, { recursive: true });
        const fresh = Array.from({ length: runs }, () => {
          const dir = mkdtempSync(path.join(DATA_ROOT, "swc-cache-"));
          try {
            return coldRun(system, mode, dir).first_call_ms;
          } finally {
            rmSync(dir, { recursive: true, force: true });
          }
        });
        row.without_plugin_cache = summarize("without-plugin-cache", fresh);
      }
      results.push({ system, ...row });
    }
  }
  const file = { lines, bytes: Buffer.byteLength(source), found };
  process.stdout.write(
    `${JSON.stringify({ file, iterations, runs, versions: swcVersions(), results }, null, 2)}\n`,
  );
}

if (process.argv[2] === "--cold") await cold(process.argv[3], process.argv[4], process.argv[5]);
else await main();
