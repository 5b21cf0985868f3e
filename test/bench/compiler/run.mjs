#!/usr/bin/env node
/**
 * Compiler benchmark: ms per 1,000 lines per mode on a generated realistic file (generate.mjs), warm
 * (median of many calls in one process) and cold (the first call in a fresh process). Uses the BUILT
 * compiler: run `npx tsc -p packages/compiler/tsconfig.json` first. Prints JSON.
 *
 *   node test/bench/compiler/run.mjs [--iterations 200]
 */
import { execFileSync } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { generateSource } from "./generate.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const compilerUrl = pathToFileURL(path.resolve(here, "../../../packages/compiler/dist/index.js")).href;
const modes = ["workflow", "step", "client"];
const iterationsArg = process.argv.indexOf("--iterations");
const iterations = iterationsArg > 0 ? Number(process.argv[iterationsArg + 1]) : 200;
const options = (mode) => ({ filename: "/project/src/orders.ts", projectRoot: "/project", mode });

async function loadCompiler() {
  try {
    return await import(compilerUrl);
  } catch (error) {
    throw new Error(
      `Cannot load the built compiler (${compilerUrl}); run \`npx tsc -p packages/compiler/tsconfig.json\` first. ${error.message}`,
    );
  }
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Child mode: one fresh process, one import, one transform; prints its timings. */
async function cold(mode) {
  const t0 = performance.now();
  const { transform } = await loadCompiler();
  const t1 = performance.now();
  const source = generateSource();
  const t2 = performance.now();
  transform(source, options(mode));
  const t3 = performance.now();
  process.stdout.write(JSON.stringify({ import_ms: t1 - t0, first_call_ms: t3 - t2 }));
}

async function main() {
  const { transform } = await loadCompiler();
  const source = generateSource();
  const lines = source.split("\n").length;
  const check = transform(source, options("workflow"));
  if (check.workflows.length !== 20 || check.steps.length !== 60 || check.diagnostics.length) {
    throw new Error(
      `generated file compiled unexpectedly: ${check.workflows.length} workflows, ${check.steps.length} steps, ${JSON.stringify(check.diagnostics)}`,
    );
  }
  const results = [];
  for (const mode of modes) {
    for (let i = 0; i < 30; i++) transform(source, options(mode));
    const samples = [];
    for (let i = 0; i < iterations; i++) {
      const t = performance.now();
      transform(source, options(mode));
      samples.push(performance.now() - t);
    }
    const child = JSON.parse(
      execFileSync(process.execPath, [fileURLToPath(import.meta.url), "--cold", mode], { encoding: "utf8" }),
    );
    results.push({
      mode,
      warm_ms_per_1000_lines: round((median(samples) * 1000) / lines),
      warm_median_ms: round(median(samples)),
      cold_first_call_ms: round(child.first_call_ms),
      cold_import_ms: round(child.import_ms),
    });
  }
  const machine = {
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    memory_gib: round(os.totalmem() / 2 ** 30),
  };
  const file = { lines, workflows: 20, steps: 60, bytes: Buffer.byteLength(source) };
  process.stdout.write(`${JSON.stringify({ machine, file, iterations, results }, null, 2)}\n`);
}

function round(n) {
  return Math.round(n * 100) / 100;
}

if (process.argv[2] === "--cold") await cold(process.argv[3]);
else await main();
